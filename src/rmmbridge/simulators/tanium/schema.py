"""The Gateway schema (SDL) the simulator serves: the part of Tanium's schema rmmbridge and public clients
use, written for rmmbridge from the facts below (the real schema is not copied here).

Executed by graphql-core, so unknown fields, wrong variable types, bad enum values and an explicit ``null``
for a non-null input fail as GraphQL validation errors (HTTP 200, ``errors``, no ``data``) exactly as on the
real Gateway, without hand-written checks. Non-null output fields matter as much: a resolver error on a
non-null field nulls its parent up to the nearest nullable field (GraphQL null propagation), which for
``Endpoint`` fields is the whole ``endpoints`` connection of that page.

Schema facts relied on (sources: ``real-2026`` = the 2026 Gateway SDL with Tanium's field descriptions;
``real-2023`` = the 2023-04 and 2023-08 introspection dumps of live servers; see
``reference/captures/tanium-gateway-schema/SOURCES.md``). Every type below that the provider's documents
reach has exactly the real type's nullability and argument defaults for the fields it declares; fields
rmmbridge never selects may be left out (a document using them then fails validation, the safe direction).

Query
- ``endpoints(first: Int = 20, ..., sort: [EndpointFieldSort!], source: EndpointSource)``: ``first``/``last``
  at most 5,000 (description). Without ``sort`` "the endpoints order is undefined and should not be relied
  on"; "define up to one sort field". Cursors are usable 5 minutes after the most recent request of the
  walk, "with a maximum lifetime of 1 hour" (real-2026 description of ``endpoints``).
- ``endpointLastSeen(eids: [ID!]!): Map`` — deprecated July 2023 in favour of ``endpoints { eidLastSeen }``;
  description: "despite accepting a list, only one EID can be specified" (real-2026; present in
  real-2023-04, gone from real-2023-08 which omits deprecated fields).
- ``computerGroup(ref: NamedRefInput!)``, ``computerGroups(filter: ComputerGroupsFilter)``,
  ``endpointIdChanges(after: Time!, namespace: String): EndpointIdChangesPayload!``,
  ``myAPITokens: APITokenQueryPayload!``, ``now: Time!`` (real-2026).

Inputs
- ``EndpointFieldFilter``: ``any: Boolean! = false``, ``negated: Boolean! = false``, ``op: FieldFilterOp! =
  EQ``, ``maxAge: Int``, ``path``/``value: String``, ``filters``, ``memberOf:
  EndpointFieldFilterComputerGroup {id, name}``, ``sensor: EndpointFieldFilterSensor {name, column,
  params}``. Sending ``null`` for ``any``/``negated``/``op`` is a validation error.
- ``EndpointFieldSort {order: SortOrder! = asc, path, sensor}``; ``SortOrder`` is lower case ``asc``/``desc``.
- ``EndpointSensorRef {name: String!, columns: [String!], filter: SensorValueFilter, maxAge: Int, params}``
  (there is no ``column``).
- ``EndpointSource {tds: EndpointSourceTDS, ts: EndpointSourceTS}``: ``tds`` is an input object
  (``allNamespaces``/``excludeErrors``/``excludeNoResults: Boolean! = false``, ``namespaces``, ``scope``), not a
  boolean; ``ts.maxWaitTime: Int! = 30``, ``ts.scope: EndpointScope! = TANIUM_CLIENTS``.

Endpoint (real-2026; nullability agrees with real-2023)
- non-null: ``id name namespace computerID systemUUID serialNumber manufacturer model chassisType
  domainName ipAddress lastLoggedInUser``, ``primaryUser: EndpointUser!``, ``os: EndpointOS!``, ``memory:
  Memory!``, ``processor: Processor!``, ``installedApplications: [..!]!``, ``sensorReadings(...):
  EndpointSensorReadings!`` and every leaf of those objects (``EndpointOS.windows`` excepted).
- nullable: ``isVirtual eidFirstSeen eidLastSeen``, ``ipAddresses`` and ``macAddresses`` (``[String!]``),
  ``disks: [EndpointDisk!]`` with ``total``/``free``/``usedPercentage`` nullable (``name`` non-null),
  ``discover`` and ``discover.natIpAddress``.
- optional content, per field descriptions: ``primaryUser.*`` "requires the Core AD Query Content
  solution"; ``serialNumber systemUUID manufacturer model lastLoggedInUser memory.* processor.* disks.*
  installedApplications`` require "the Core Content solution"; ``discover.*`` the Discover solution.
  ``id name computerID chassisType domainName isVirtual eidFirstSeen eidLastSeen ipAddress ipAddresses
  macAddresses os.*`` name no content (the simulator's modes ``core_content_installed`` and
  ``ad_query_installed`` make the former fail as field errors).

Other types
- ``ComputerGroup``: ``type: ComputerGroupType!`` (non-null), plus ``contentSet: NamedRef``,
  ``contentSetV2: TaniumPlatformContentSet``, ``modifiedTime: Time``.
- ``APIToken.lastUsed: Time!`` (non-null: a never-used token still has a value); no field tells the
  caller's own token apart; ``Persona`` has only ``name``. ``APITokenGrantInput.trustedIPAddresses`` is
  non-null; ``APITokenRevokePayload`` has only ``error``; ``SystemError`` fields are nullable.
- ``EndpointCollectionInfo``: ``active success: Boolean!``, ``contributedTotal: Int!``, ``respondedPercentage:
  Float``, ``expectedTotal respondedTotal: Int``, ``startCursor: Cursor`` (``question`` left out).
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
  now: Time!
  endpoints(after: Cursor, before: Cursor, filter: EndpointFieldFilter, first: Int = 20, last: Int,
            refresh: Cursor, sort: [EndpointFieldSort!], source: EndpointSource): EndpointConnection
  computerGroups(after: Cursor, before: Cursor, filter: ComputerGroupsFilter, first: Int,
                 last: Int): ComputerGroupConnection
  computerGroup(ref: NamedRefInput!): ComputerGroup
  endpointIdChanges(after: Time!, namespace: String): EndpointIdChangesPayload!
  "Deprecated: only one EID can be specified."
  endpointLastSeen(eids: [ID!]!): Map @deprecated(reason: "Use endpoints { eidLastSeen }.")
  myAPITokens: APITokenQueryPayload!
}

type Mutation {
  apiTokenGrant(input: APITokenGrantInput!): APITokenGrantPayload!
  apiTokenRotate(input: APITokenRotateInput!): APITokenRotatePayload!
  apiTokenRevoke(input: APITokenRevokeInput!): APITokenRevokePayload!
}

type PageInfo {
  endCursor: Cursor
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: Cursor
}

enum FieldFilterOp { CONTAINS ENDS_WITH EQ GT GTE LT LTE MATCHES READ_AFTER STARTS_WITH UPDATED_AFTER }

enum SensorValueFilterOp { CONTAINS ENDS_WITH EQ GT GTE LT LTE MATCHES STARTS_WITH }

enum SortOrder { asc desc }

enum EndpointScope { ALL_TS_SOURCED_ENTITIES TANIUM_CLIENTS }

input NamedRefInput { id: ID  name: String }

input EndpointFieldFilterComputerGroup { id: ID  name: String }

input EndpointFieldFilterSensorParam { name: String!  value: String! }

input EndpointFieldFilterSensor { column: String  name: String  params: [EndpointFieldFilterSensorParam!] }

input EndpointFieldFilter {
  any: Boolean! = false
  filters: [EndpointFieldFilter!]
  maxAge: Int
  memberOf: EndpointFieldFilterComputerGroup
  negated: Boolean! = false
  op: FieldFilterOp! = EQ
  path: String
  sensor: EndpointFieldFilterSensor
  value: String
}

input EndpointFieldSortSensor { column: String  name: String!  params: [EndpointFieldFilterSensorParam!] }

input EndpointFieldSort { order: SortOrder! = asc  path: String  sensor: EndpointFieldSortSensor }

input FieldFilter {
  any: Boolean! = false
  filters: [FieldFilter!]
  negated: Boolean! = false
  op: FieldFilterOp! = EQ
  path: String
  restrictOwner: Boolean! = true
  value: String
}

input EndpointSensorRefParam { name: String!  value: String! }

input SensorValueFilter {
  any: Boolean! = false
  column: String
  filters: [SensorValueFilter!]
  negated: Boolean! = false
  op: SensorValueFilterOp! = EQ
  restrictOwner: Boolean! = true
  value: String
}

input EndpointSensorRef {
  columns: [String!]
  filter: SensorValueFilter
  maxAge: Int
  name: String!
  params: [EndpointSensorRefParam!]
}

input EndpointSourceTDS {
  allNamespaces: Boolean! = false
  excludeErrors: Boolean! = false
  excludeNoResults: Boolean! = false
  namespaces: [String!]
  scope: EndpointScope
}

input EndpointSourceTS {
  excludeErrors: Boolean! = false
  excludeNoResults: Boolean! = false
  expectedCount: Int
  maxAge: Int
  maxWaitTime: Int! = 30
  minPercentage: Float
  scope: EndpointScope! = TANIUM_CLIENTS
  stableWaitTime: Int
}

input EndpointSource { tds: EndpointSourceTDS  ts: EndpointSourceTS }

type EndpointConnection {
  collectionInfo: EndpointCollectionInfo!
  edges: [EndpointEdge!]!
  pageInfo: PageInfo!
  totalRecords: Int!
}

type EndpointEdge { cursor: Cursor!  node: Endpoint! }

type EndpointCollectionInfo {
  active: Boolean!
  contributedTotal: Int!
  expectedTotal: Int
  respondedPercentage: Float
  respondedTotal: Int
  startCursor: Cursor
  success: Boolean!
}

enum EndpointPlatform { AIX Linux Mac Solaris Unknown Windows }

type EndpointWindowsOS { majorVersion: String!  releaseId: String!  type: String! }

type EndpointOS {
  generation: String!
  language: String!
  name: String!
  platform: EndpointPlatform!
  windows: EndpointWindowsOS
}

type EndpointUser { email: String!  name: String! }

type Memory { ram: String!  total: String! }

type Processor { cpu: String!  logicalProcessors: Int!  speed: String! }

type EndpointDisk { free: String  name: String!  total: String  usedPercentage: String  usedSpace: String }

type EndpointInstalledApplication { name: String!  version: String! }

type EndpointDiscover { natIpAddress: String }

type EndpointSensorReadingRefParam { name: String!  value: String! }

type EndpointSensorReadingRef { name: String!  params: [EndpointSensorReadingRefParam!] }

type EndpointSensorReadingColumn { name: String!  sensor: EndpointSensorReadingRef!  values: [String!]! }

type EndpointSensorReadings { columns: [EndpointSensorReadingColumn!]! }

type Endpoint {
  chassisType: String!
  computerID: String!
  "Requires the Discover solution."
  discover: EndpointDiscover
  disks: [EndpointDisk!]
  domainName: String!
  eidFirstSeen: Time
  eidLastSeen: Time
  id: ID!
  installedApplications(filter: FieldFilter): [EndpointInstalledApplication!]!
  ipAddress: String!
  ipAddresses: [String!]
  isVirtual: Boolean
  lastLoggedInUser: String!
  macAddresses: [String!]
  manufacturer: String!
  memory: Memory!
  model: String!
  name: String!
  namespace: String!
  os: EndpointOS!
  primaryUser: EndpointUser!
  processor: Processor!
  sensorReadings(includeHiddenColumns: Boolean! = false, sensors: [EndpointSensorRef!]!): EndpointSensorReadings!
  serialNumber: String!
  systemUUID: String!
}

enum ComputerGroupType { MANUAL STANDARD }

type NamedRef { id: ID  name: String }

type TaniumPlatformContentSet { description: String  id: ID!  name: String! }

type ComputerGroup {
  contentSet: NamedRef
  contentSetV2: TaniumPlatformContentSet
  expression: String!
  filterEnabled: Boolean!
  id: ID!
  managementRightsEnabled: Boolean!
  modifiedTime: Time
  name: String!
  type: ComputerGroupType!
}

input ComputerGroupsFilter {
  filterEnabled: Boolean
  managementRightsEnabled: Boolean
  name: String
  nameOp: FieldFilterOp = EQ
  type: ComputerGroupType
}

type ComputerGroupEdge { cursor: Cursor!  node: ComputerGroup! }

type ComputerGroupConnection {
  edges: [ComputerGroupEdge!]!
  pageInfo: PageInfo!
  totalRecords: Int!
}

type EndpointIdChange { newId: ID!  oldId: ID! }

type EndpointIdChangesPayload { before: Time!  changes: [EndpointIdChange!]! }

type SystemError { message: String  retryable: Boolean  timedOut: Boolean }

type Persona { name: String! }

type APIToken {
  created: Time!
  expiration: Time!
  id: ID!
  lastUsed: Time!
  notes: String!
  persona: Persona
  "Returned only by apiTokenGrant and apiTokenRotate."
  tokenString: String
  trustedIPAddresses: [String!]!
}

type APITokenQueryPayload { error: SystemError  tokens: [APIToken!] }

input APITokenGrantInput {
  expiresInDays: Int
  notes: String
  personaName: String
  trustedIPAddresses: [String!]!
}

input APITokenRotateInput { tokenString: String! }

input APITokenRevokeInput { id: ID! }

type APITokenGrantPayload { error: SystemError  token: APIToken }
type APITokenRotatePayload { error: SystemError  token: APIToken }
type APITokenRevokePayload { error: SystemError }
"""


@cache
def gateway_schema() -> GraphQLSchema:
    """The executable schema (built once per process; resolvers come from the root and node objects)."""
    return build_schema(GATEWAY_SDL)
