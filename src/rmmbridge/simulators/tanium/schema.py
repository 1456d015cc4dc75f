"""The Gateway schema (SDL) the simulator serves: the part of Tanium's schema rmmbridge and public clients
use.

Executed by graphql-core, so unknown fields, wrong variable types and bad enum values fail as GraphQL
validation errors (HTTP 200, ``errors``, no ``data``) exactly as on the real Gateway, without hand-written
checks. Fields owned by optional modules (``discover``) and sensor readings are present so the best-effort
documents of reference §4.7 work.
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

GATEWAY_SDL = """
"Opaque pagination cursor."
scalar Cursor
"RFC 3339 timestamp."
scalar Time
"Arbitrary JSON object."
scalar Map

type Query {
  "The server clock."
  now: Time!
  endpoints(first: Int, after: Cursor, last: Int, before: Cursor, filter: EndpointFieldFilter,
            source: EndpointSource, refresh: Cursor): EndpointConnection
  computerGroups(first: Int, after: Cursor, last: Int, before: Cursor,
                 filter: ComputerGroupFilter): ComputerGroupConnection
  computerGroup(ref: ComputerGroupRef!): ComputerGroup
  endpointIdChanges(after: Time!, namespace: String): EndpointIdChanges
  endpointLastSeen(eids: [ID!]!): Map
  myAPITokens: APITokensPayload
}

type Mutation {
  apiTokenGrant(input: APITokenGrantInput!): APITokenGrantPayload
  apiTokenRotate(input: APITokenRotateInput!): APITokenRotatePayload
  apiTokenRevoke(input: APITokenRevokeInput!): APITokenRevokePayload
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: Cursor
  endCursor: Cursor
}

enum FieldFilterOp { EQ CONTAINS STARTS_WITH ENDS_WITH MATCHES GT GTE LT LTE READ_AFTER UPDATED_AFTER }

input ComputerGroupRef { id: ID  name: String }

input SensorParamInput { name: String!  value: String! }

input EndpointSensorRef { name: String!  column: String  params: [SensorParamInput!] }

input EndpointFieldFilter {
  path: String
  value: String
  op: FieldFilterOp = EQ
  negated: Boolean = false
  any: Boolean = false
  filters: [EndpointFieldFilter!]
  memberOf: ComputerGroupRef
  sensor: EndpointSensorRef
}

input EndpointTSSource {
  maxAge: Int
  maxWaitTime: Int
  stableWaitTime: Int
  minPercentage: Float
  expectedCount: Int
}

input EndpointSource { tds: Boolean  ts: EndpointTSSource }

type EndpointConnection {
  edges: [EndpointEdge!]!
  pageInfo: PageInfo!
  totalRecords: Int!
  collectionInfo: EndpointCollectionInfo!
}

type EndpointEdge { cursor: Cursor!  node: Endpoint! }

type EndpointCollectionInfo {
  active: Boolean!
  success: Boolean!
  respondedPercentage: Float!
  expectedCount: Int!
  startTime: Time
  endTime: Time
}

enum OSPlatform { Windows Mac Linux Solaris AIX Unknown }

type WindowsOS { releaseId: String! }

type OperatingSystem {
  name: String!
  platform: OSPlatform!
  generation: String!
  windows: WindowsOS
}

type EndpointUser { name: String!  email: String! }

type EndpointMemory { total: String! }

type EndpointProcessor { cpu: String!  logicalProcessors: Int!  speed: String! }

type EndpointDisk { name: String!  total: String!  free: String!  usedPercentage: String! }

type EndpointInstalledApplication { name: String!  version: String! }

type EndpointDiscover { natIpAddress: String! }

type SensorReadingSensor { name: String! }

type SensorReadingColumn { name: String!  values: [String!]!  sensor: SensorReadingSensor! }

type EndpointSensorReadings { columns: [SensorReadingColumn!]! }

type Endpoint {
  id: ID!
  name: String!
  namespace: String!
  computerID: String!
  systemUUID: String!
  serialNumber: String!
  manufacturer: String!
  model: String!
  chassisType: String!
  domainName: String!
  isVirtual: Boolean
  eidFirstSeen: Time
  eidLastSeen: Time
  ipAddress: String!
  ipAddresses: [String!]!
  macAddresses: [String!]!
  lastLoggedInUser: String!
  primaryUser: EndpointUser
  os: OperatingSystem!
  memory: EndpointMemory!
  processor: EndpointProcessor!
  disks: [EndpointDisk!]!
  installedApplications: [EndpointInstalledApplication!]!
  "Requires the Discover module."
  discover: EndpointDiscover
  sensorReadings(sensors: [EndpointSensorRef!]!): EndpointSensorReadings
}

enum ComputerGroupType { MANUAL STANDARD }

type ContentSet { id: ID!  name: String! }

type ComputerGroup {
  id: ID!
  name: String!
  type: ComputerGroupType
  expression: String!
  filterEnabled: Boolean!
  managementRightsEnabled: Boolean!
  contentSet: ContentSet
}

input ComputerGroupFilter { filterEnabled: Boolean  managementRightsEnabled: Boolean  type: ComputerGroupType
}

type ComputerGroupEdge { cursor: Cursor!  node: ComputerGroup! }

type ComputerGroupConnection {
  edges: [ComputerGroupEdge!]!
  pageInfo: PageInfo!
  totalRecords: Int!
}

type EndpointIdChange { oldId: ID!  newId: ID! }

type EndpointIdChanges { before: Time!  changes: [EndpointIdChange!]! }

type SystemError { message: String!  retryable: Boolean!  timedOut: Boolean! }

type Persona { id: ID!  name: String! }

type APIToken {
  id: ID!
  "Returned only by apiTokenGrant and apiTokenRotate."
  tokenString: String
  created: Time!
  expiration: Time!
  lastUsed: Time
  notes: String!
  persona: Persona
  trustedIPAddresses: [String!]!
}

type APITokensPayload { tokens: [APIToken!]  error: SystemError }

input APITokenGrantInput {
  trustedIPAddresses: [String!]
  expiresInDays: Int
  notes: String
  personaName: String
}

input APITokenRotateInput { tokenString: String! }

input APITokenRevokeInput { id: ID! }

type APITokenGrantPayload { token: APIToken  error: SystemError }
type APITokenRotatePayload { token: APIToken  error: SystemError }
type APITokenRevokePayload { id: ID  error: SystemError }
"""


@cache
def gateway_schema() -> GraphQLSchema:
    """The executable schema (built once per process; resolvers come from the root and node objects)."""
    return build_schema(GATEWAY_SDL)
