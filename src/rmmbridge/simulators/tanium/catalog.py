"""Static reference data the Tanium fleet generator draws from.

Kept apart from the generator so the generator reads as rules ("a Windows server has…") rather than as lists
of strings. Every value here is the kind of thing a real Tanium Gateway returns, including the awkward ones
(pseudo-values, junk serials, sizes in several formats) that reference §4.6 lists.
"""

from __future__ import annotations

from typing import NamedTuple

CUSTOMERS: tuple[tuple[str, str, str], ...] = (
    # (group name, hostname prefix, AD domain)
    ("Acme Dental", "ACME", "acmedental.local"),
    ("Northwind Logistics", "NWL", "northwind.corp"),
    ("Contoso Legal", "CTL", "contoso-legal.local"),
    ("Fabrikam Manufacturing", "FAB", "fabrikam.local"),
    ("Tailspin Travel", "TSP", "tailspin.local"),
    ("Wingtip Accounting", "WTA", "wingtip.local"),
    ("Blue Yonder Clinics", "BYC", "byclinics.org"),
    ("Litware Studios", "LWS", "litware.local"),
    ("Proseware Schools", "PRS", "proseware.edu"),
    ("Adventure Works Retail", "AWR", "adventure-works.local"),
    ("Coho Vineyard", "COHO", "coho.local"),
    ("Woodgrove Credit Union", "WGB", "woodgrove.local"),
)

# Hostnames that trip the "type from hostname substrings" mistake (reference §10.10): they contain "ios",
# "bios", "server", "switch" or "mobile" but belong to ordinary Windows/Linux machines.
TRICKY_HOSTNAMES: tuple[str, ...] = (
    "STUDIOS-01",
    "BIOS-LAB",
    "IOS-BUILD",
    "MOBILE-KIOSK-03",
    "SWITCHBOARD-PC",
    "SERVERROOM-DISPLAY",
)

FIRST_NAMES = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Chris",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Priya",
    "Wei",
    "Olga",
    "Ahmed",
    "Sofia",
    "Mateo",
    "Yuki",
    "Fatima",
    "Lars",
    "Chloe",
    "Noah",
    "Amara",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Nakamura",
    "Okafor",
    "Kowalski",
    "Nguyen",
    "Svensson",
    "Haddad",
    "Rossi",
    "Dubois",
)

# Sensor pseudo-values that stand in for "no data" in String! fields (reference §4.6).
PSEUDO_VALUES: tuple[str, ...] = (
    "Error: No inventory has been collected",
    "[no results]",
    "[current result unavailable]",
    "TSE-Error: Sensor timed out",
    "Unknown",
    "N/A",
)
SERIAL_JUNK: tuple[str, ...] = (
    "0",
    "To Be Filled By O.E.M.",
    "Default string",
    "System Serial Number",
    "Not Specified",
)


class HardwareModel(NamedTuple):
    manufacturer: str
    model: str
    chassis: str
    serial_style: str  # "dell" | "hp" | "lenovo" | "apple" | "vmware" | "hyperv" | "generic"
    virtual: bool


WORKSTATION_HARDWARE: tuple[HardwareModel, ...] = (
    HardwareModel("HP", "EliteBook 840 G8", "Notebook", "hp", False),
    HardwareModel("HP", "EliteDesk 800 G6 SFF", "Desktop", "hp", False),
    HardwareModel("HP", "ProBook 450 G9", "Notebook", "hp", False),
    HardwareModel("Dell Inc.", "Latitude 5520", "Laptop", "dell", False),
    HardwareModel("Dell Inc.", "OptiPlex 7090", "Desktop", "dell", False),
    HardwareModel("Dell Inc.", "Precision 3660 Tower", "Tower", "dell", False),
    HardwareModel("LENOVO", "20XW004KUS", "Notebook", "lenovo", False),
    HardwareModel("LENOVO", "ThinkCentre M70q", "Mini Tower", "lenovo", False),
    HardwareModel("Microsoft Corporation", "Surface Laptop 5", "Laptop", "generic", False),
    HardwareModel("ASUS", "System Product Name", "Desktop", "generic", False),
)
SERVER_HARDWARE: tuple[HardwareModel, ...] = (
    HardwareModel("Dell Inc.", "PowerEdge R650", "Rack Mount Chassis", "dell", False),
    HardwareModel("Dell Inc.", "PowerEdge T350", "Tower", "dell", False),
    HardwareModel("HPE", "ProLiant DL380 Gen10", "Rack Mount Chassis", "hp", False),
    HardwareModel("VMware, Inc.", "VMware7,1", "Other", "vmware", True),
    HardwareModel("VMware, Inc.", "VMware Virtual Platform", "Other", "vmware", True),
    HardwareModel("Microsoft Corporation", "Virtual Machine", "Desktop", "hyperv", True),
    HardwareModel("Amazon EC2", "t3.large", "Other", "generic", True),
)
MAC_HARDWARE: tuple[HardwareModel, ...] = (
    HardwareModel("Apple Inc.", "MacBookPro18,3", "Laptop", "apple", False),
    HardwareModel("Apple Inc.", "MacBookAir10,1", "Laptop", "apple", False),
    HardwareModel("Apple Inc.", "Mac14,3", "Desktop", "apple", False),
    HardwareModel("Apple Inc.", "iMac21,1", "All in One", "apple", False),
)
LINUX_LAPTOP_HARDWARE: tuple[HardwareModel, ...] = (
    HardwareModel("LENOVO", "ThinkPad X1 Carbon Gen 9", "Notebook", "lenovo", False),
    HardwareModel("Dell Inc.", "XPS 13 9310", "Laptop", "dell", False),
    HardwareModel("System76", "Lemur Pro", "Portable", "generic", False),
)


class OsProfile(NamedTuple):
    platform: str  # OSPlatform enum value
    name: str
    generation: str
    release_id: str | None  # Windows only
    version: str  # Asset API os_version


WINDOWS_CLIENT_OS: tuple[OsProfile, ...] = (
    OsProfile("Windows", "Windows 11 Enterprise", "Windows 11", "23H2", "10.0.22631"),
    OsProfile("Windows", "Windows 11 Pro", "Windows 11", "22H2", "10.0.22621"),
    OsProfile("Windows", "Windows 10 Enterprise", "Windows 10", "22H2", "10.0.19045"),
    OsProfile("Windows", "Windows 10 Pro", "Windows 10", "21H2", "10.0.19044"),
)
WINDOWS_SERVER_OS: tuple[OsProfile, ...] = (
    OsProfile("Windows", "Windows Server 2022 Datacenter", "Windows Server 2022", "21H2", "10.0.20348"),
    OsProfile("Windows", "Windows Server 2019 Standard", "Windows Server 2019", "1809", "10.0.17763"),
    OsProfile("Windows", "Windows Server 2016 Standard", "Windows Server 2016", "1607", "10.0.14393"),
)
MAC_OS: tuple[OsProfile, ...] = (
    OsProfile("Mac", "macOS (26.3.1 (a))", "macOS 26", None, "26.3.1"),
    OsProfile("Mac", "macOS Sonoma (14.6.1)", "macOS 14", None, "14.6.1"),
    OsProfile("Mac", "macOS Ventura (13.7)", "macOS 13", None, "13.7"),
)
LINUX_SERVER_OS: tuple[OsProfile, ...] = (
    OsProfile("Linux", "Ubuntu 22.04.4 LTS", "Ubuntu 22.04", None, "5.15.0-105-generic"),
    OsProfile("Linux", "Red Hat Enterprise Linux 9.3 (Plow)", "RHEL 9", None, "5.14.0-362.el9.x86_64"),
    OsProfile("Linux", "Debian GNU/Linux 12 (bookworm)", "Debian 12", None, "6.1.0-18-amd64"),
    OsProfile("Linux", "Rocky Linux 8.9 (Green Obsidian)", "Rocky Linux 8", None, "4.18.0-513.el8.x86_64"),
)
LINUX_DESKTOP_OS: tuple[OsProfile, ...] = (
    OsProfile("Linux", "Ubuntu 24.04 LTS", "Ubuntu 24.04", None, "6.8.0-31-generic"),
    OsProfile("Linux", "Fedora Linux 40 (Workstation Edition)", "Fedora 40", None, "6.8.9-300.fc40.x86_64"),
)
UNIX_OS: tuple[OsProfile, ...] = (
    OsProfile("AIX", "AIX 7.2", "AIX 7", None, "7.2.5.3"),
    OsProfile("Solaris", "Oracle Solaris 11.4", "Solaris 11", None, "11.4.42"),
)
UNKNOWN_OS = OsProfile("Unknown", "", "", None, "")

WORKSTATION_CPUS: tuple[tuple[str, int, str], ...] = (
    ("Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", 8, "2995 Mhz"),
    ("Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz", 12, "3096 Mhz"),
    ("Intel(R) Core(TM) i5-8365U CPU @ 1.60GHz", 8, "1896 Mhz"),
    ("13th Gen Intel(R) Core(TM) i7-1365U", 12, "1800 Mhz"),
    ("AMD Ryzen 7 PRO 5850U with Radeon Graphics", 16, "1901 Mhz"),
)
SERVER_CPUS: tuple[tuple[str, int, str], ...] = (
    ("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", 32, "2394 Mhz"),
    ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 64, "1995 Mhz"),
    ("AMD EPYC 7443P 24-Core Processor", 48, "2850 Mhz"),
    ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", 4, "2400 Mhz"),
)
MAC_CPUS: tuple[tuple[str, int, str], ...] = (
    ("Apple M1 Pro", 10, "3228 Mhz"),
    ("Apple M2", 8, "3490 Mhz"),
    ("Apple M3 Max", 16, "4050 Mhz"),
)


class AppTemplate(NamedTuple):
    name: str
    vendor: str
    versions: tuple[str, ...]


WINDOWS_APPS: tuple[AppTemplate, ...] = (
    AppTemplate("Google Chrome", "Google LLC", ("124.0.6367.61", "123.0.6312.106", "121.0.6167.185")),
    AppTemplate("Mozilla Firefox (x64 en-US)", "Mozilla", ("125.0.1", "124.0.2", "115.10.0")),
    AppTemplate("Microsoft Edge", "Microsoft Corporation", ("124.0.2478.51", "123.0.2420.97")),
    AppTemplate("Microsoft 365 Apps for enterprise - en-us", "Microsoft Corporation", ("16.0.17425.20176",)),
    AppTemplate("Microsoft Teams", "Microsoft Corporation", ("24004.1403.2634.2418", "1.6.00.4472")),
    AppTemplate("Zoom Workplace", "Zoom Video Communications, Inc.", ("6.0.2", "5.17.11")),
    AppTemplate("Adobe Acrobat Reader DC", "Adobe Systems Incorporated", ("24.001.20643", "23.008.20533")),
    AppTemplate("7-Zip 23.01 (x64)", "Igor Pavlov", ("23.01",)),
    AppTemplate("Notepad++ (64-bit x64)", "Notepad++ Team", ("8.6.5", "8.5.8")),
    AppTemplate("Tanium Client", "Tanium Inc.", ("7.6.1.5123", "7.4.10.1075")),
    AppTemplate("CrowdStrike Windows Sensor", "CrowdStrike, Inc.", ("7.13.18003.0",)),
    AppTemplate("Cisco Secure Client - AnyConnect VPN", "Cisco Systems, Inc.", ("5.1.2.42",)),
    AppTemplate("VLC media player", "VideoLAN", ("3.0.20",)),
    AppTemplate("Slack", "Slack Technologies Inc.", ("4.37.101",)),
    AppTemplate("Dropbox", "Dropbox, Inc.", ("197.4.7629",)),
    AppTemplate("Git", "The Git Development Community", ("2.44.0",)),
    AppTemplate("Python 3.12.3 (64-bit)", "Python Software Foundation", ("3.12.3150.0",)),
    AppTemplate("Microsoft Visual Studio Code", "Microsoft Corporation", ("1.88.1",)),
    AppTemplate("Java 8 Update 401", "Oracle Corporation", ("8.0.4010.10",)),
    AppTemplate("Microsoft .NET Runtime - 8.0.4 (x64)", "Microsoft Corporation", ("8.0.4.33519",)),
    AppTemplate("Microsoft Visual C++ 2015-2022 Redistributable (x64)", "Microsoft Corporation", ("14.38.33135.0",)),
    AppTemplate("Microsoft Visual C++ 2013 Redistributable (x86)", "Microsoft Corporation", ("12.0.40664.0",)),
    AppTemplate("Dentrix G7", "Henry Schein One", ("17.6.2",)),
    AppTemplate("QuickBooks Desktop Pro 2024", "Intuit Inc.", ("34.0.4001.3406",)),
    AppTemplate("Sage 50 Accounting", "Sage", ("2024.1",)),
    AppTemplate("AutoCAD LT 2024", "Autodesk", ("24.3.61.0",)),
    AppTemplate("Adobe Creative Cloud", "Adobe Inc.", ("6.2.0.554",)),
    AppTemplate("PuTTY release 0.81 (64-bit)", "Simon Tatham", ("0.81.0.0",)),
    AppTemplate("WinSCP 6.3.3", "Martin Prikryl", ("6.3.3",)),
    AppTemplate("TeamViewer", "TeamViewer", ("15.52.3",)),
)
WINDOWS_SERVER_APPS: tuple[AppTemplate, ...] = (
    AppTemplate("Microsoft SQL Server 2019 (64-bit)", "Microsoft Corporation", ("15.0.4360.2",)),
    AppTemplate("Microsoft SQL Server Management Studio - 20.1", "Microsoft Corporation", ("20.1.10.0",)),
    AppTemplate("Veeam Backup & Replication", "Veeam Software Group GmbH", ("12.1.1.56",)),
    AppTemplate("VMware Tools", "VMware, Inc.", ("12.3.5.22544099",)),
    AppTemplate("Microsoft Exchange Server", "Microsoft Corporation", ("15.2.1544.4",)),
    AppTemplate("IIS URL Rewrite Module 2", "Microsoft Corporation", ("7.2.1993",)),
    AppTemplate("Tanium Client", "Tanium Inc.", ("7.6.1.5123",)),
    AppTemplate("CrowdStrike Windows Sensor", "CrowdStrike, Inc.", ("7.13.18003.0",)),
    AppTemplate("Microsoft Visual C++ 2015-2022 Redistributable (x64)", "Microsoft Corporation", ("14.38.33135.0",)),
    AppTemplate("7-Zip 23.01 (x64)", "Igor Pavlov", ("23.01",)),
    AppTemplate("Notepad++ (64-bit x64)", "Notepad++ Team", ("8.6.5",)),
)
# Products that Windows keeps installed in two versions at once, under one name (shared SQL Server components,
# old VC++ runtimes, updaters), with the odds that an endpoint of the role has both. Added on top of the
# endpoint's sampled applications.
SIDE_BY_SIDE_APPS: dict[str, tuple[tuple[AppTemplate, float], ...]] = {
    "win_ws": (
        (AppTemplate("Microsoft Visual C++ 2005 Redistributable", "Microsoft Corporation",
                     ("8.0.61001", "8.0.59193", "8.0.56336")), 0.3),
        (AppTemplate("Microsoft Update Health Tools", "Microsoft Corporation", ("5.72.0.0", "3.74.0.0")), 0.25),
        (AppTemplate("Office 16 Click-to-Run Extensibility Component", "Microsoft Corporation",
                     ("16.0.17425.20176", "16.0.17328.20162")), 0.15),
    ),
    "win_srv": (
        (AppTemplate("SQL Server Integration Services Singleton", "Microsoft Corporation",
                     ("15.0.1100.123", "14.0.3002.136")), 0.5),
        (AppTemplate("Microsoft ODBC Driver 17 for SQL Server", "Microsoft Corporation",
                     ("17.10.6.1", "17.7.2.1")), 0.3),
        (AppTemplate("Microsoft Visual C++ 2005 Redistributable", "Microsoft Corporation",
                     ("8.0.61001", "8.0.56336")), 0.3),
    ),
}
MAC_APPS: tuple[AppTemplate, ...] = (
    AppTemplate("Google Chrome", "Google LLC", ("124.0.6367.61",)),
    AppTemplate("Safari", "Apple Inc.", ("17.4.1", "18.2")),
    AppTemplate("Microsoft Word", "Microsoft Corporation", ("16.84",)),
    AppTemplate("Microsoft Excel", "Microsoft Corporation", ("16.84",)),
    AppTemplate("Microsoft Outlook", "Microsoft Corporation", ("16.84",)),
    AppTemplate("Slack", "Slack Technologies Inc.", ("4.37.101",)),
    AppTemplate("zoom.us", "Zoom Video Communications, Inc.", ("6.0.2",)),
    AppTemplate("Xcode", "Apple Inc.", ("15.3",)),
    AppTemplate("Final Cut Pro", "Apple Inc.", ("10.7.1",)),
    AppTemplate("Adobe Photoshop 2024", "Adobe Inc.", ("25.6",)),
    AppTemplate("1Password 8", "AgileBits Inc.", ("8.10.30",)),
    AppTemplate("Tanium Client", "Tanium Inc.", ("7.6.1.5123",)),
    AppTemplate("Falcon", "CrowdStrike, Inc.", ("7.13.18003.0",)),
    AppTemplate("Visual Studio Code", "Microsoft Corporation", ("1.88.1",)),
    AppTemplate("iTerm", "George Nachman", ("3.4.23",)),
)
LINUX_PACKAGES: tuple[AppTemplate, ...] = (
    AppTemplate("openssl", "", ("3.0.2-0ubuntu1.15", "3.0.7-25.el9_3")),
    AppTemplate("openssh-server", "", ("1:8.9p1-3ubuntu0.7", "8.7p1-34.el9")),
    AppTemplate("bash", "", ("5.1-6ubuntu1.1", "5.1.8-6.el9")),
    AppTemplate("coreutils", "", ("8.32-4.1ubuntu1.2",)),
    AppTemplate("curl", "", ("7.81.0-1ubuntu1.16", "7.76.1-26.el9")),
    AppTemplate("nginx", "", ("1.18.0-6ubuntu14.4",)),
    AppTemplate("postgresql-14", "", ("14.11-0ubuntu0.22.04.1",)),
    AppTemplate("docker-ce", "", ("5:26.1.1-1~ubuntu.22.04~jammy",)),
    AppTemplate("python3", "", ("3.10.6-1~22.04", "3.9.18-1.el9")),
    AppTemplate("taniumclient", "Tanium Inc.", ("7.6.1.5123-1.rhe9", "7.6.1.5123-ubuntu22")),
    AppTemplate("falcon-sensor", "CrowdStrike, Inc.", ("7.13.0-16807",)),
    AppTemplate("systemd", "", ("249.11-0ubuntu3.12", "252-18.el9")),
    AppTemplate("libc6", "", ("2.35-0ubuntu3.7",)),
    AppTemplate("vim", "", ("2:8.2.3995-1ubuntu2.16",)),
    AppTemplate("rsync", "", ("3.2.7-0ubuntu0.22.04.2",)),
)

# Interned so 20 000 endpoints share the same few dozen string objects.
WINDOWS_DISK_TOTALS = ("237 GB", "476 GB", "953 GB", "1.8 TB")
SERVER_DISK_TOTALS = ("127 GB", "250 GB", "500 GB", "2 TB", "4 TB")
