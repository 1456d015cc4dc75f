"""Static pools of realistic values the fleet generator draws from.

Hardware profiles, OS strings, Windows services and installed-software entries are modelled on what
real Tactical agents report (reference §3.7-§3.10, §7.1). Everything here is immutable data.
"""

from __future__ import annotations

from dataclasses import dataclass

CLIENT_WORDS = (
    "Acme", "Bluewater", "Cedar Ridge", "Summit", "Harbor Point", "Northwind", "Oakmont", "Pinecrest",
    "Redwood", "Silverline", "Stonebridge", "Maple Leaf", "Ironwood", "Lakeside", "Granite Peak",
    "Brightpath", "Copper Creek", "Evergreen", "Foxhollow", "Golden Gate", "Highland", "Juniper",
    "Keystone", "Lighthouse", "Meridian", "Northstar", "Orchard", "Pioneer", "Quarry Hill", "Riverbend",
    "Sagebrush", "Tidewater", "Union Square", "Valley View", "Westbrook", "Willow Creek", "Yellowstone",
    "Zenith", "Alpine", "Beacon Hill",
)
CLIENT_TRADES = (
    "Dental", "Logistics", "Law Group", "Accounting", "Veterinary Clinic", "Construction", "Realty",
    "Family Practice", "Engineering", "Insurance", "Manufacturing", "Credit Union", "Architects",
    "Auto Group", "Hospitality", "Pharmacy", "Nonprofit", "School District", "Printing", "Brewing Co",
    "Landscaping", "Orthodontics", "Wealth Partners", "Title & Escrow", "Medical Imaging", "Foods",
    "Plumbing", "Chiropractic", "Marine Supply", "Staffing",
)
SITE_NAMES = (
    "Headquarters", "Main Office", "Branch Office", "Warehouse", "Remote Workers", "Datacenter",
    "Downtown", "North Campus", "South Clinic", "East Wing", "Lab", "Retail Store", "Plant",
    "Satellite Office", "Home Office", "West Side", "Annex", "Distribution Center",
)
FIRST_NAMES = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william",
    "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
    "charles", "karen", "daniel", "nancy", "matthew", "lisa", "anthony", "betty", "mark", "sandra",
    "maria", "carlos", "priya", "wei", "ahmed", "olga", "kenji", "fatima",
)
LAST_NAMES = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore",
    "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "nguyen",
    "patel", "kim", "chen", "novak", "schmidt", "tanaka",
)
SERVICE_ACCOUNTS = ("administrator", "Administrator", "svc_backup", "root", "admin")
TIME_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London")
JUNK_SERIALS = ("To Be Filled By O.E.M.", "Default string", "System Serial Number", "0123456789", "None")


@dataclass(frozen=True)
class Disk:
    caption: str
    size: int
    interface: str
    media: str = "Fixed hard disk media"


@dataclass(frozen=True)
class WinHardware:
    """One Windows machine model as WMI describes it."""

    key: str
    server: bool
    vendor: str
    model: str
    system_family: str
    board_maker: str
    board_product: str
    pc_system_type: int
    cpu: str
    cores: int
    threads: int
    sockets: int
    gpus: tuple[str, ...]
    disks: tuple[Disk, ...]
    ram_gb: tuple[int, ...]
    serial_style: str
    bios_maker: str
    bios_version: str
    product_version: str
    nic: str
    virtual: bool = False


GB = 1_000_000_000

WIN_WORKSTATIONS: tuple[WinHardware, ...] = (
    WinHardware(
        "hp-elitebook", False, "HP", "HP EliteBook 840 G10 Notebook PC", "103C_5336AN HP EliteBook",
        "HP", "8B41", 2, "13th Gen Intel(R) Core(TM) i7-1365U", 10, 12, 1,
        ("Intel(R) Iris(R) Xe Graphics",), (Disk("SAMSUNG MZVL2512HCJQ-00BH1", 512105932800, "SCSI"),),
        (16, 32), "hp", "HP", "V70 Ver. 01.05.00", "", "Intel(R) Wi-Fi 6E AX211 160MHz",
    ),
    WinHardware(
        "hp-prodesk", False, "HP", "HP ProDesk 400 G7 Small Form Factor PC", "103C_53307F HP ProDesk",
        "HP", "8767", 1, "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz", 6, 12, 1,
        ("Intel(R) UHD Graphics 630",), (Disk("KXG60ZNV256G KIOXIA", 256052966400, "SCSI"),),
        (8, 16), "hp", "HP", "S25 Ver. 02.15.00", "", "Realtek PCIe GbE Family Controller",
    ),
    WinHardware(
        "dell-optiplex", False, "Dell Inc.", "OptiPlex 7090", "OptiPlex", "Dell Inc.", "0W0CHX", 1,
        "11th Gen Intel(R) Core(TM) i7-11700 @ 2.50GHz", 8, 16, 1, ("Intel(R) UHD Graphics 750",),
        (Disk("PC SN730 NVMe WDC 512GB", 512110190592, "SCSI"),), (16, 32), "dell", "Dell Inc.",
        "1.19.0", "", "Intel(R) Ethernet Connection (14) I219-LM",
    ),
    WinHardware(
        "dell-latitude", False, "Dell Inc.", "Latitude 5440", "Latitude", "Dell Inc.", "0XK7DJ", 2,
        "13th Gen Intel(R) Core(TM) i5-1345U", 10, 12, 1, ("Intel(R) Iris(R) Xe Graphics",),
        (Disk("KBG50ZNS256G NVMe KIOXIA 256GB", 256060514304, "SCSI"),), (8, 16), "dell", "Dell Inc.",
        "1.14.1", "", "Intel(R) Wi-Fi 6E AX211 160MHz",
    ),
    WinHardware(
        "lenovo-t14", False, "LENOVO", "21AHCTO1WW", "ThinkPad T14 Gen 3", "LENOVO", "21AHCTO1WW", 2,
        "12th Gen Intel(R) Core(TM) i7-1265U", 10, 12, 1, ("Intel(R) Iris(R) Xe Graphics",),
        (Disk("SAMSUNG MZVL2512HCJQ-00BL7", 512110190592, "SCSI"),), (16, 32), "lenovo", "LENOVO",
        "R23ET65W (1.35 )", "ThinkPad T14 Gen 3", "Intel(R) Wi-Fi 6E AX211 160MHz",
    ),
    WinHardware(
        "lenovo-m70q", False, "LENOVO", "11DT0040US", "ThinkCentre M70q", "LENOVO", "3132", 1,
        "Intel(R) Core(TM) i5-10400T CPU @ 2.00GHz", 6, 12, 1, ("Intel(R) UHD Graphics 630",),
        (Disk("WDC PC SN520 SDAPNUW-256G-1014", 256052966400, "SCSI"),), (8, 16), "lenovo", "LENOVO",
        "M2WKT4AA", "ThinkCentre M70q", "Intel(R) Ethernet Connection (11) I219-LM",
    ),
    WinHardware(
        "lenovo-v50", False, "LENOVO", "11HD002FUS", "To be filled by O.E.M.", "LENOVO", "3717", 1,
        "Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz", 4, 8, 1, ("Intel(R) UHD Graphics 630",),
        (Disk("ST1000DM010-2EP102", 1000202273280, "IDE"),), (8,), "lenovo", "LENOVO", "M2QKT32A", "",
        "Realtek PCIe GbE Family Controller",
    ),
    WinHardware(
        "oem-build", False, "To Be Filled By O.E.M.", "To Be Filled By O.E.M.", "To Be Filled By O.E.M.",
        "ASUSTeK COMPUTER INC.", "PRIME B460M-A", 1, "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz", 8, 16, 1,
        ("NVIDIA GeForce GTX 1660 SUPER", "Intel(R) UHD Graphics 630"),
        (
            Disk("Samsung SSD 870 EVO 1TB", 1000202273280, "IDE"),
            Disk("WD Elements 25A3 USB Device", 2000363420160, "USB", "External hard disk media"),
        ),
        (16, 32, 64), "oem", "American Megatrends Inc.", "1401", "To Be Filled By O.E.M.",
        "Intel(R) Ethernet Connection (11) I219-V",
    ),
    WinHardware(
        "surface-laptop", False, "Microsoft Corporation", "Surface Laptop 5", "Surface",
        "Microsoft Corporation", "Surface Laptop 5", 2, "12th Gen Intel(R) Core(TM) i5-1245U", 10, 12, 1,
        ("Intel(R) Iris(R) Xe Graphics",), (Disk("Samsung KUS040202M-B000", 256060514304, "SCSI"),),
        (8, 16), "surface", "Microsoft Corporation", "5.101.140", "124I:00095T:000M:0300000D:11B:0100",
        "Intel(R) Wi-Fi 6 AX201 160MHz",
    ),
)

WIN_SERVERS: tuple[WinHardware, ...] = (
    WinHardware(
        "dell-r650", True, "Dell Inc.", "PowerEdge R650", "PowerEdge", "Dell Inc.", "0Y2G81", 4,
        "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", 16, 32, 2, ("Matrox G200eR2",),
        (
            Disk("DELL PERC H755 Front SCSI Disk Device", 1919850381312, "SCSI"),
            Disk("DELL PERC H755 Front SCSI Disk Device", 7681501126656, "SCSI"),
        ),
        (128, 256), "dell", "Dell Inc.", "1.10.2", "", "Broadcom NetXtreme Gigabit Ethernet",
    ),
    WinHardware(
        "dell-t140", True, "Dell Inc.", "PowerEdge T140", "PowerEdge", "Dell Inc.", "0MT1HK", 4,
        "Intel(R) Xeon(R) E-2224 CPU @ 3.40GHz", 4, 4, 1, ("Matrox G200eW3",),
        (Disk("DELL PERC H330 Adp SCSI Disk Device", 1999844147200, "SCSI"),), (16, 32), "dell",
        "Dell Inc.", "2.14.1", "", "Broadcom NetXtreme Gigabit Ethernet",
    ),
    WinHardware(
        "hpe-dl380", True, "HPE", "ProLiant DL380 Gen10", "ProLiant", "HPE", "ProLiant DL380 Gen10", 4,
        "Intel(R) Xeon(R) Gold 5218 CPU @ 2.30GHz", 16, 32, 2, ("Matrox G200eH3 (HPE)",),
        (Disk("HPE LOGICAL VOLUME SCSI Disk Device", 1200209543168, "SCSI"),), (64, 128, 384), "hpe",
        "HPE", "U30", "", "HPE Ethernet 1Gb 4-port 331i Adapter",
    ),
    WinHardware(
        "lenovo-sr650", True, "Lenovo", "7X06CTO1WW", "ThinkSystem SR650", "Lenovo", "7X06CTO1WW", 4,
        "Intel(R) Xeon(R) Silver 4210 CPU @ 2.20GHz", 10, 20, 2, ("Matrox G200eR2",),
        (Disk("Lenovo RAID 930-8i SCSI Disk Device", 959119884288, "SCSI"),), (96, 192), "lenovo",
        "Lenovo", "IVE178E-3.22", "ThinkSystem SR650", "Intel(R) Ethernet Connection X722 for 10GbE SFP+",
    ),
    WinHardware(
        "vmware-vm", True, "VMware, Inc.", "VMware7,1", "", "Intel Corporation", "440BX Desktop Reference Platform",
        4, "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz", 4, 4, 1, ("VMware SVGA 3D",),
        (Disk("VMware Virtual disk SCSI Disk Device", 107374182400, "SCSI"),), (8, 16, 32), "vmware",
        "VMware, Inc.", "VMW71.00V.21100432.B64.2301110304", "None", "vmxnet3 Ethernet Adapter", True,
    ),
    WinHardware(
        "hyperv-vm", True, "Microsoft Corporation", "Virtual Machine", "Virtual Machine",
        "Microsoft Corporation", "Virtual Machine", 4, "Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz", 4, 8, 1,
        ("Microsoft Hyper-V Video", "Microsoft Remote Display Adapter"),
        (Disk("Microsoft Virtual Disk", 136365211648, "SCSI"),), (8, 16, 24), "hyperv",
        "Microsoft Corporation", "Hyper-V UEFI Release v4.1", "Hyper-V UEFI Release v4.1",
        "Microsoft Hyper-V Network Adapter", True,
    ),
    WinHardware(
        "hyperv-rds", True, "Microsoft Corporation", "Virtual Machine", "Virtual Machine",
        "Microsoft Corporation", "Virtual Machine", 4, "AMD EPYC 7443P 24-Core Processor", 8, 8, 1,
        ("Microsoft Remote Display Adapter",), (Disk("Microsoft Virtual Disk", 274877906944, "SCSI"),),
        (32, 64), "hyperv", "Microsoft Corporation", "Hyper-V UEFI Release v4.1",
        "Hyper-V UEFI Release v4.1", "Microsoft Hyper-V Network Adapter", True,
    ),
)


@dataclass(frozen=True)
class PosixHardware:
    key: str
    make_model: str
    cpus: tuple[str, ...]
    gpus: tuple[str, ...]
    disks: tuple[str, ...]
    ram_gb: tuple[int, ...]
    serial_style: str
    goarch: str


LINUX_HARDWARE: tuple[PosixHardware, ...] = (
    PosixHardware(
        "dell-r6515", "Dell Inc. PowerEdge R6515", ("AMD EPYC 7302P 16-Core Processor",),
        ("Matrox Electronics Systems Ltd. G200eW3",), ("Micron 5300 PRO 480GB SSD sda 447.1 GB",),
        (64, 128), "dell", "amd64",
    ),
    PosixHardware(
        "vmware", "VMware, Inc. VMware7,1", ("Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz",),
        ("VMware SVGA II Adapter",), ("VMware Virtual disk sda 100.0 GB",), (4, 8, 16), "vmware", "amd64",
    ),
    PosixHardware(
        "proxmox", "QEMU pc-q35-8.1", ("Common KVM processor",), (), ("QEMU HARDDISK sda 64.0 GB",),
        (2, 4, 8), "na", "amd64",
    ),
    PosixHardware(
        "hpe-dl360", "HPE ProLiant DL360 Gen10", ("Intel(R) Xeon(R) Silver 4210 CPU @ 2.20GHz",),
        ("Matrox Electronics Systems Ltd. MGA G200eH3",), ("HPE LOGICAL VOLUME sda 558.9 GB",), (32, 64),
        "hpe", "amd64",
    ),
    PosixHardware(
        "raspberry-pi", "", ("Cortex-A72",), (), ("SD SC64G mmcblk0 59.5 GB",), (4, 8), "na", "arm64",
    ),
)

MAC_HARDWARE: tuple[PosixHardware, ...] = (
    PosixHardware("mba-m1", "MacBookAir10,1", ("Apple M1",), (), ("APPLE SSD AP0256Q 251.0 GB",), (8, 16),
                  "apple", "arm64"),
    PosixHardware("macmini-m1", "Macmini9,1", ("Apple M1",), (), ("APPLE SSD AP0512Q 500.3 GB",), (8, 16),
                  "apple", "arm64"),
    PosixHardware("mbp-m1pro", "MacBookPro18,3", ("Apple M1 Pro",), ("Apple M1 Pro",),
                  ("APPLE SSD AP0512R 500.3 GB",), (16, 32), "apple", "arm64"),
    PosixHardware("mba-m2", "Mac14,2", ("Apple M2",), ("Apple M2",), ("APPLE SSD AP0512Z 500.3 GB",), (8, 16, 24),
                  "apple", "arm64"),
    PosixHardware("mbp-intel", "MacBookPro16,1", ("Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz",),
                  ("Intel UHD Graphics 630", "AMD Radeon Pro 5300M"), ("APPLE SSD AP0512M 500.3 GB",), (16, 32),
                  "apple", "amd64"),
)

# (operating_system, os Caption, Version, BuildNumber) — current agents' format first, then the older one.
WIN_WS_OS: tuple[tuple[str, str, str, str], ...] = (
    ("Microsoft Windows 11 Pro, 64 bit v23H2 (build 22631.4460)", "Microsoft Windows 11 Pro", "10.0.22631", "22631"),
    ("Microsoft Windows 11 Pro, 64 bit v24H2 (build 26100.2314)", "Microsoft Windows 11 Pro", "10.0.26100", "26100"),
    ("Microsoft Windows 11 Enterprise, 64 bit v23H2 (build 22631.4541)", "Microsoft Windows 11 Enterprise",
     "10.0.22631", "22631"),
    ("Microsoft Windows 10 Pro, 64 bit v22H2 (build 19045.5131)", "Microsoft Windows 10 Pro", "10.0.19045", "19045"),
    ("Microsoft Windows 10 Enterprise LTSC 2019, 64 bit v1809 (build 17763.6532)",
     "Microsoft Windows 10 Enterprise LTSC", "10.0.17763", "17763"),
)
WIN_WS_OS_OLD: tuple[tuple[str, str, str, str], ...] = (
    ("Microsoft Windows 10 Pro, 64bit (build 19044)", "Microsoft Windows 10 Pro", "10.0.19044", "19044"),
    ("Microsoft Windows 10 Home, 64bit (build 19043)", "Microsoft Windows 10 Home", "10.0.19043", "19043"),
)
WIN_SRV_OS: tuple[tuple[str, str, str, str], ...] = (
    ("Microsoft Windows Server 2022 Standard, 64 bit v21H2 (build 20348.2849)",
     "Microsoft Windows Server 2022 Standard", "10.0.20348", "20348"),
    ("Microsoft Windows Server 2022 Datacenter, 64 bit v21H2 (build 20348.2849)",
     "Microsoft Windows Server 2022 Datacenter", "10.0.20348", "20348"),
    ("Microsoft Windows Server 2019 Standard, 64 bit v1809 (build 17763.6532)",
     "Microsoft Windows Server 2019 Standard", "10.0.17763", "17763"),
    ("Microsoft Windows Server 2016 Standard, 64 bit v1607 (build 14393.7515)",
     "Microsoft Windows Server 2016 Standard", "10.0.14393", "14393"),
)
WIN_SRV_OS_OLD: tuple[tuple[str, str, str, str], ...] = (
    ("Microsoft Windows Server 2019 Standard, 64bit (build 17763)", "Microsoft Windows Server 2019 Standard",
     "10.0.17763", "17763"),
    ("Microsoft Windows Server 2012 R2 Standard, 64bit (build 9600)", "Microsoft Windows Server 2012 R2 Standard",
     "6.3.9600", "9600"),
)
LINUX_OS = (
    "Ubuntu 22.04 x86_64 5.15.0-126-generic", "Ubuntu 24.04 x86_64 6.8.0-49-generic",
    "Debian 12.8 x86_64 6.1.0-27-amd64", "Rocky Linux 9.4 x86_64 5.14.0-427.42.1.el9_4.x86_64",
    "Ubuntu 20.04 x86_64 5.4.0-202-generic",
)
LINUX_ARM_OS = ("Debian 12.8 aarch64 6.6.51+rpt-rpi-v8", "Ubuntu 24.04 aarch64 6.8.0-1013-raspi")
MAC_OS = ("Darwin 14.5 arm64 23.5.0", "Darwin 15.1 arm64 24.1.0", "Darwin 13.6.9 arm64 22.6.0")
MAC_INTEL_OS = ("Darwin 13.6.9 x86_64 22.6.0", "Darwin 14.7.1 x86_64 23.6.0")

AGENT_VERSIONS = ("2.11.0", "2.11.0", "2.11.0", "2.10.0", "2.9.1", "2.8.0")
OLD_AGENT_VERSIONS = ("2.4.11", "2.0.4", "1.8.0")

# (name, display_name, binpath, username, start_type, description)
WIN_SERVICES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("AudioSrv", "Windows Audio", "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p",
     "NT AUTHORITY\\LocalService", "Automatic", "Manages audio for Windows-based programs."),
    ("BFE", "Base Filtering Engine", "C:\\Windows\\system32\\svchost.exe -k LocalServiceNoNetworkFirewall -p",
     "NT AUTHORITY\\LocalService", "Automatic", "The Base Filtering Engine (BFE) is a service that manages firewall "
     "and Internet Protocol security (IPsec) policies."),
    ("BITS", "Background Intelligent Transfer Service", "C:\\Windows\\System32\\svchost.exe -k netsvcs -p",
     "LocalSystem", "Manual", "Transfers files in the background using idle network bandwidth."),
    ("BrokerInfrastructure", "Background Tasks Infrastructure Service",
     "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p", "LocalSystem", "Automatic",
     "Windows infrastructure service that controls which background tasks can run on the system."),
    ("CryptSvc", "Cryptographic Services", "C:\\Windows\\system32\\svchost.exe -k NetworkService -p",
     "NT Authority\\NetworkService", "Automatic", "Provides three management services."),
    ("DcomLaunch", "DCOM Server Process Launcher", "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
     "LocalSystem", "Automatic", "The DCOMLAUNCH service launches COM and DCOM servers."),
    ("Dhcp", "DHCP Client", "C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted -p",
     "NT Authority\\LocalService", "Automatic", "Registers and updates IP addresses and DNS records."),
    ("DiagTrack", "Connected User Experiences and Telemetry",
     "C:\\Windows\\System32\\svchost.exe -k utcsvc -p", "LocalSystem", "Automatic",
     "The Connected User Experiences and Telemetry service enables features that support in-application "
     "and connected user experiences."),
    ("Dnscache", "DNS Client", "C:\\Windows\\system32\\svchost.exe -k NetworkService -p",
     "NT AUTHORITY\\NetworkService", "Automatic", "The DNS Client service (dnscache) caches Domain Name System "
     "(DNS) names."),
    ("EventLog", "Windows Event Log", "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p",
     "NT AUTHORITY\\LocalService", "Automatic", "This service manages events and event logs."),
    ("gpsvc", "Group Policy Client", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "LocalSystem",
     "Automatic", "The service is responsible for applying settings configured by administrators."),
    ("LanmanServer", "Server", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "LocalSystem", "Automatic",
     "Supports file, print, and named-pipe sharing over the network for this computer."),
    ("LanmanWorkstation", "Workstation", "C:\\Windows\\System32\\svchost.exe -k NetworkService -p",
     "NT AUTHORITY\\NetworkService", "Automatic", "Creates and maintains client network connections to "
     "remote servers using the SMB protocol."),
    ("mpssvc", "Windows Defender Firewall", "C:\\Windows\\system32\\svchost.exe -k LocalServiceNoNetworkFirewall -p",
     "NT Authority\\LocalService", "Automatic", "Windows Defender Firewall helps protect your computer."),
    ("MsMpEng", "Microsoft Defender Antivirus Service",
     "\"C:\\ProgramData\\Microsoft\\Windows Defender\\platform\\4.18.24090.11-0\\MsMpEng.exe\"",
     "LocalSystem", "Automatic", "Helps protect users from malware and other potentially unwanted software"),
    ("Netlogon", "Netlogon", "C:\\Windows\\system32\\lsass.exe", "LocalSystem", "Manual",
     "Maintains a secure channel between this computer and the domain controller."),
    ("NlaSvc", "Network Location Awareness", "C:\\Windows\\System32\\svchost.exe -k NetworkService -p",
     "NT AUTHORITY\\NetworkService", "Automatic", "Collects and stores configuration information for the network."),
    ("PlugPlay", "Plug and Play", "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p", "LocalSystem", "Manual",
     "Enables a computer to recognize and adapt to hardware changes with little or no user input."),
    ("ProfSvc", "User Profile Service", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "LocalSystem",
     "Automatic", "This service is responsible for loading and unloading user profiles."),
    ("RpcSs", "Remote Procedure Call (RPC)", "C:\\Windows\\system32\\svchost.exe -k rpcss -p",
     "NT AUTHORITY\\NetworkService", "Automatic", "The RPCSS service is the Service Control Manager for COM "
     "and DCOM servers."),
    ("Schedule", "Task Scheduler", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "LocalSystem", "Automatic",
     "Enables a user to configure and schedule automated tasks on this computer."),
    ("SENS", "System Event Notification Service", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
     "LocalSystem", "Automatic", "Monitors system events and notifies subscribers to COM+ Event System."),
    ("Spooler", "Print Spooler", "C:\\Windows\\System32\\spoolsv.exe", "LocalSystem", "Automatic",
     "This service spools print jobs and handles interaction with the printer."),
    ("TermService", "Remote Desktop Services", "C:\\Windows\\System32\\svchost.exe -k NetworkService",
     "NT Authority\\NetworkService", "Manual", "Allows users to connect interactively to a remote computer."),
    ("Themes", "Themes", "C:\\Windows\\System32\\svchost.exe -k netsvcs -p", "LocalSystem", "Automatic",
     "Provides user experience theme management."),
    ("W32Time", "Windows Time", "C:\\Windows\\system32\\svchost.exe -k LocalService", "NT AUTHORITY\\LocalService",
     "Manual", "Maintains date and time synchronization on all clients and servers in the network."),
    ("WinDefend", "Microsoft Defender Antivirus Service",
     "\"C:\\ProgramData\\Microsoft\\Windows Defender\\platform\\4.18.24090.11-0\\MsMpEng.exe\"", "LocalSystem",
     "Automatic", "Helps protect users from malware and other potentially unwanted software"),
    ("WinRM", "Windows Remote Management (WS-Management)",
     "C:\\Windows\\System32\\svchost.exe -k NetworkService -p", "NT AUTHORITY\\NetworkService", "Automatic",
     "Windows Remote Management (WinRM) service implements the WS-Management protocol."),
    ("Winmgmt", "Windows Management Instrumentation", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
     "localSystem", "Automatic", "Provides a common interface and object model to access management information."),
    ("wuauserv", "Windows Update", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "LocalSystem", "Manual",
     "Enables the detection, download, and installation of updates for Windows and other programs."),
    ("WSearch", "Windows Search", "C:\\Windows\\system32\\SearchIndexer.exe /Embedding", "LocalSystem",
     "Automatic", "Provides content indexing, property caching, and search results for files, e-mail."),
    ("tacticalrmm", "TacticalRMM Agent Service", "\"C:\\Program Files\\TacticalAgent\\tacticalrmm.exe\" -m svc",
     "LocalSystem", "Automatic", "TacticalRMM Agent Service"),
    ("Mesh Agent", "Mesh Agent", "\"C:\\Program Files\\Mesh Agent\\MeshAgent.exe\"", "LocalSystem", "Automatic",
     "Mesh Agent background service"),
    ("edgeupdate", "Microsoft Edge Update Service (edgeupdate)",
     "\"C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe\" /svc", "LocalSystem",
     "Automatic", "Keeps your Microsoft software up to date."),
    ("gupdate", "Google Update Service (gupdate)",
     "\"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe\" /svc", "LocalSystem", "Automatic",
     "Keeps your Google software up to date."),
    ("TeamViewer", "TeamViewer", "\"C:\\Program Files\\TeamViewer\\TeamViewer_Service.exe\"", "LocalSystem",
     "Automatic", "TeamViewer Remote Software"),
    ("Sophos Endpoint Defense Service", "Sophos Endpoint Defense Service",
     "\"C:\\Program Files\\Sophos\\Endpoint Defense\\SEDService.exe\"", "LocalSystem", "Automatic",
     "Sophos Endpoint Defense Service"),
    ("VSS", "Volume Shadow Copy", "C:\\Windows\\system32\\vssvc.exe", "LocalSystem", "Manual",
     "Manages and implements Volume Shadow Copies used for backup and other purposes."),
    ("LicenseManager", "Windows License Manager Service", "C:\\Windows\\System32\\svchost.exe -k LocalService -p",
     "NT Authority\\LocalService", "Manual", "Provides infrastructure support for the Microsoft Store."),
    ("RemoteRegistry", "Remote Registry", "C:\\Windows\\system32\\svchost.exe -k localService -p",
     "NT AUTHORITY\\LocalService", "Disabled", "Enables remote users to modify registry settings on this computer."),
)
WIN_SERVER_SERVICES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("DNS", "DNS Server", "C:\\Windows\\system32\\dns.exe", "LocalSystem", "Automatic",
     "Enables DNS clients to resolve DNS names by answering DNS queries and dynamic DNS update requests."),
    ("NTDS", "Active Directory Domain Services", "C:\\Windows\\System32\\lsass.exe", "LocalSystem", "Automatic",
     "AD DS Domain Controller service."),
    ("DFSR", "DFS Replication", "C:\\Windows\\system32\\DFSRs.exe", "LocalSystem", "Automatic",
     "Enables you to synchronize folders on multiple servers across local or wide area network connections."),
    ("MSSQLSERVER", "SQL Server (MSSQLSERVER)",
     "\"C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe\" -sMSSQLSERVER",
     "NT Service\\MSSQLSERVER", "Automatic", "Provides storage, processing and controlled access of data."),
    ("W3SVC", "World Wide Web Publishing Service", "C:\\Windows\\system32\\svchost.exe -k iissvcs",
     "LocalSystem", "Automatic", "Provides Web connectivity and administration through the IIS Manager"),
    ("vmms", "Hyper-V Virtual Machine Management", "C:\\Windows\\system32\\vmms.exe", "LocalSystem", "Automatic",
     "Management service for Hyper-V, provides service to run multiple virtual machines."),
    ("VeeamBackupSvc", "Veeam Backup Service",
     "\"C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Service.exe\"", "LocalSystem",
     "Automatic", "Veeam Backup Service"),
    ("Kdc", "Kerberos Key Distribution Center", "C:\\Windows\\System32\\lsass.exe", "LocalSystem", "Automatic",
     "On domain controllers, this service enables users to log on to the network using the Kerberos protocol."),
)


@dataclass(frozen=True)
class SoftwareEntry:
    """One installable product; ``{v}`` in ``name``/``location``/``uninstall`` takes the version.

    ``side_by_side``: chance that an agent with the product has two of its versions installed at once, listed
    under the same name (SQL Server shared components, old VC++ runtimes, updaters); ``duplicate``: chance
    that one version is listed twice (the 32- and 64-bit uninstall keys), as real agents do.
    """

    name: str
    versions: tuple[str, ...]
    publisher: str
    size_kb: tuple[int, int]
    location: str = ""
    uninstall: str = ""
    source: str = ""
    servers_only: bool = False
    common: bool = False
    side_by_side: float = 0.0
    duplicate: float = 0.0


WIN_SOFTWARE: tuple[SoftwareEntry, ...] = (
    SoftwareEntry("Microsoft Edge", ("131.0.2903.70", "130.0.2849.80", "129.0.2792.89"), "Microsoft Corporation",
                  (550_000, 700_000), "C:\\Program Files (x86)\\Microsoft\\Edge\\Application",
                  "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\{v}\\Installer\\setup.exe\" --uninstall "
                  "--msedge --channel=stable --system-level --verbose-logging", common=True),
    SoftwareEntry("Microsoft Edge WebView2 Runtime", ("131.0.2903.70", "130.0.2849.80"), "Microsoft Corporation",
                  (500_000, 650_000), "C:\\Program Files (x86)\\Microsoft\\EdgeWebView\\Application",
                  "\"C:\\Program Files (x86)\\Microsoft\\EdgeWebView\\Application\\{v}\\Installer\\setup.exe\" "
                  "--uninstall --msedgewebview --system-level --verbose-logging", common=True),
    SoftwareEntry("Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.40.33810", ("14.40.33810.0",),
                  "Microsoft Corporation", (20_000, 21_000), "",
                  "\"C:\\ProgramData\\Package Cache\\{{5af95fd8-a22e-458f-acee-c61bd787178e}}\\VC_redist.x64.exe\"  "
                  "/uninstall", common=True),
    SoftwareEntry("Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.40.33810", ("14.40.33810.0",),
                  "Microsoft Corporation", (17_000, 18_500), "",
                  "\"C:\\ProgramData\\Package Cache\\{{47109d57-d746-4f8b-9618-ed6a17cc922b}}\\VC_redist.x86.exe\"  "
                  "/uninstall", common=True),
    SoftwareEntry("Microsoft Visual C++ 2013 Redistributable (x64) - 12.0.40664", ("12.0.40664.0",),
                  "Microsoft Corporation", (20_000, 21_000), "",
                  "\"C:\\ProgramData\\Package Cache\\{{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}}\\vcredist_x64.exe\"  "
                  "/uninstall"),
    SoftwareEntry("Tactical RMM Agent", ("2.11.0", "2.10.0", "2.9.1"), "AmidaWare Inc", (60_000, 75_000),
                  "C:\\Program Files\\TacticalAgent\\", "\"C:\\Program Files\\TacticalAgent\\unins000.exe\"",
                  common=True),
    SoftwareEntry("Microsoft Update Health Tools", ("5.72.0.0", "3.74.0.0"), "Microsoft Corporation", (1_000, 1_100),
                  "", "MsiExec.exe /X{{1FC1A6C2-576E-489A-9B4A-92D21F542136}}", common=True, side_by_side=0.2),
    SoftwareEntry("Microsoft Visual C++ 2005 Redistributable", ("8.0.61001", "8.0.59193", "8.0.56336"),
                  "Microsoft Corporation", (4_800, 5_200), "", "MsiExec.exe /X{{710f4c1c-cc18-4c49-8cbf-51240c89a1a2}}",
                  side_by_side=0.5),
    SoftwareEntry("Microsoft Visual C++ 2005 Redistributable (x64)", ("8.0.61000", "8.0.56336"),
                  "Microsoft Corporation", (6_800, 7_200), "", "MsiExec.exe /X{{ad8a2fa1-06e7-4b0d-927d-6e54b3d31028}}",
                  side_by_side=0.4),
    SoftwareEntry("Microsoft ASP.NET Core {v} - Shared Framework (x64)", ("8.0.11", "6.0.36"), "Microsoft Corporation",
                  (68_000, 70_000), "", "MsiExec.exe /X{{7E3F5A1C-0B7D-4A6E-9C2B-5D8F1E0A3C47}}", side_by_side=0.5),
    SoftwareEntry("Office 16 Click-to-Run Extensibility Component", ("16.0.18129.20116", "16.0.17928.20114"),
                  "Microsoft Corporation", (0, 0), "", "MsiExec.exe /X{{90160000-008C-0000-1000-0000000FF1CE}}",
                  side_by_side=0.4, duplicate=0.2),
    SoftwareEntry("7-Zip {v} (x64)", ("19.00", "22.01", "23.01", "24.08"), "Igor Pavlov", (5_300, 5_900),
                  "C:\\Program Files\\7-Zip\\", "C:\\Program Files\\7-Zip\\Uninstall.exe"),
    SoftwareEntry("Google Chrome", ("131.0.6778.86", "130.0.6723.117", "128.0.6613.120"), "Google LLC",
                  (600_000, 700_000), "C:\\Program Files\\Google\\Chrome\\Application",
                  "\"C:\\Program Files\\Google\\Chrome\\Application\\{v}\\Installer\\setup.exe\" --uninstall "
                  "--channel=stable --system-level --verbose-logging"),
    SoftwareEntry("Mozilla Firefox (x64 en-US)", ("133.0", "132.0.2", "128.5.1"), "Mozilla", (230_000, 260_000),
                  "C:\\Program Files\\Mozilla Firefox",
                  "\"C:\\Program Files\\Mozilla Firefox\\uninstall\\helper.exe\""),
    SoftwareEntry("Adobe Acrobat (64-bit)", ("24.005.20307", "24.004.20272"), "Adobe", (700_000, 900_000),
                  "C:\\Program Files\\Adobe\\Acrobat DC\\", "MsiExec.exe /I{{AC76BA86-1033-1033-7760-BC15014EA700}}"),
    SoftwareEntry("Microsoft 365 Apps for business - en-us", ("16.0.18129.20116", "16.0.17928.20286"),
                  "Microsoft Corporation", (0, 0), "C:\\Program Files\\Microsoft Office",
                  "\"C:\\Program Files\\Common Files\\Microsoft Shared\\ClickToRun\\OfficeClickToRun.exe\" "
                  "scenario=install scenariosubtype=ARP sourcetype=None "
                  "productstoremove=O365BusinessRetail.16_en-us_x-none "
                  "culture=en-us version.16=16.0"),
    SoftwareEntry("Zoom Workplace (64-bit)", ("6.2.11", "6.1.6"), "Zoom Communications, Inc.", (270_000, 300_000),
                  "", "MsiExec.exe /X{{8A5C4F5B-2B58-4F1A-9F3E-6F7D1C7C9E21}}"),
    SoftwareEntry("Microsoft Teams Meeting Add-in for Microsoft Office", ("1.24.25301", "1.24.19202"),
                  "Microsoft", (9_000, 10_000), "", "MsiExec.exe /X{{A7AB73A3-CB10-4AA5-9D38-6AEFFBDE4C91}}"),
    SoftwareEntry("Notepad++ (64-bit x64)", ("8.7.1", "8.6.9", "8.4.2"), "Notepad++ Team", (14_000, 16_000),
                  "", "C:\\Program Files\\Notepad++\\uninstall.exe"),
    SoftwareEntry("VLC media player", ("3.0.21", "3.0.20"), "VideoLAN", (160_000, 180_000),
                  "C:\\Program Files\\VideoLAN\\VLC", "\"C:\\Program Files\\VideoLAN\\VLC\\uninstall.exe\""),
    SoftwareEntry("TeamViewer", ("15.60.3", "15.58.5"), "TeamViewer", (90_000, 110_000),
                  "C:\\Program Files\\TeamViewer", "\"C:\\Program Files\\TeamViewer\\uninstall.exe\""),
    SoftwareEntry("Java 8 Update 431 (64-bit)", ("8.0.4310.10",), "Oracle Corporation", (120_000, 130_000),
                  "C:\\Program Files\\Java\\jre-1.8\\", "MsiExec.exe /X{{77924AE4-039E-4CA4-87B4-2F64180431F0}}"),
    SoftwareEntry("Cisco Secure Client - AnyConnect VPN ", ("5.1.6.103", "5.1.2.42"), "Cisco Systems, Inc.",
                  (16_000, 18_000), "", "MsiExec.exe /X{{A3A5A8D2-2D11-4E2B-9EF6-2A0C23E4B5E1}}"),
    SoftwareEntry("FortiClient VPN", ("7.4.1.1736", "7.2.4.0972"), "Fortinet Technologies Inc",
                  (270_000, 300_000), "C:\\Program Files\\Fortinet\\FortiClient\\",
                  "MsiExec.exe /X{{0DC51760-4FB7-41F3-8967-D3DEC9D320EB}}"),
    SoftwareEntry("Microsoft OneDrive", ("24.211.1020.0001", "24.201.1006.0005"), "Microsoft Corporation",
                  (290_000, 320_000), "",
                  "\"C:\\Program Files\\Microsoft OneDrive\\{v}\\OneDriveSetup.exe\"  /uninstall  /allusers "),
    SoftwareEntry("Sophos Endpoint Agent", ("2024.3.1.1", "2023.2.2.1"), "Sophos Limited", (0, 0), "",
                  "\"C:\\Program Files\\Sophos\\Sophos Endpoint Agent\\SophosUninstall.exe\""),
    SoftwareEntry("Python 3.12.4 (64-bit)", ("3.12.4150.0",), "Python Software Foundation", (100_000, 105_000),
                  "",
                  "\"C:\\ProgramData\\Package Cache\\{{1a3c7f2e-4b1d-4d3e-9f0a-8c2b5e6d7f10}}\\"
                  "python-3.12.4-amd64.exe\"  /uninstall"),
    SoftwareEntry("Git", ("2.47.0", "2.45.2"), "The Git Development Community", (330_000, 340_000),
                  "C:\\Program Files\\Git\\", "\"C:\\Program Files\\Git\\unins000.exe\""),
    SoftwareEntry("PuTTY release 0.81 (64-bit)", ("0.81.0.0",), "Simon Tatham", (4_000, 4_500), "",
                  "MsiExec.exe /X{{B7C62B59-1A5D-4A3B-8B7C-9E4F2A1D3C5B}}"),
    SoftwareEntry("WinRAR 7.01 (64-bit)", ("7.01.0",), "win.rar GmbH", (9_000, 9_800), "C:\\Program Files\\WinRAR\\",
                  "C:\\Program Files\\WinRAR\\uninstall.exe"),
    SoftwareEntry("QuickBooks Desktop Pro 2024", ("34.0.4007.3404",), "Intuit Inc.", (1_400_000, 1_600_000),
                  "C:\\Program Files\\Intuit\\QuickBooks 2024\\",
                  "MsiExec.exe /I{{5C3F1E0B-2D8A-4B5E-9A7F-1E2D3C4B5A60}}"),
    SoftwareEntry("Google Update Helper", ("1.3.36.372", "1.3.36.352"), "Google LLC", (70, 80), "",
                  "MsiExec.exe /I{{60EC980A-BDA2-4CB6-A427-B07A5498B4CA}}", side_by_side=0.4, duplicate=0.1),
    SoftwareEntry("Microsoft .NET Runtime - 8.0.11 (x64)", ("64.44.23254",), "Microsoft Corporation",
                  (68_000, 70_000), "", "MsiExec.exe /X{{7E3F5A1C-0B7D-4A6E-9C2B-5D8F1E0A3C47}}"),
    SoftwareEntry("Microsoft Windows Desktop Runtime - 6.0.36 (x64)", ("48.144.23186",), "Microsoft Corporation",
                  (210_000, 215_000), "", "MsiExec.exe /X{{2C4E6A8B-1D3F-4B5A-8E7C-9A0B1C2D3E4F}}"),
    SoftwareEntry("Update for Windows 10 for x64-based Systems (KB5001716)", ("8.94.0.0",), "Microsoft Corporation",
                  (800, 900), "", "MsiExec.exe /X{{B8D93870-98D1-4980-AFCA-E26563CDFB79}}"),
    SoftwareEntry("Microsoft SQL Server 2019 (64-bit)", ("15.0.2000.5",), "Microsoft Corporation", (0, 0), "",
                  "\"C:\\Program Files\\Microsoft SQL Server\\150\\Setup Bootstrap\\SQL2019\\x64\\SetupARP.exe\"",
                  servers_only=True),
    SoftwareEntry("Service Pack 2 for SQL Server 2016 (KB4052908) (64-bit)", ("13.2.5026.0",),
                  "Microsoft Corporation", (0, 0), "",
                  "\"C:\\Program Files\\Microsoft SQL Server\\130\\Setup Bootstrap\\Update Cache\\KB4052908\\"
                  "ServicePack\\x64\\setup.exe\" /Action=RemovePatch /AllInstances ", servers_only=True),
    SoftwareEntry("Veeam Backup & Replication", ("12.2.0.334", "12.1.2.172"), "Veeam Software Group GmbH",
                  (0, 0), "", "MsiExec.exe /X{{D0B8E0E0-43C1-4A3A-9E0C-6F0B0E0F2A21}}", servers_only=True),
    SoftwareEntry("SQL Server Integration Services Singleton", ("15.0.1100.123", "14.0.3002.136", "13.0.1601.5"),
                  "Microsoft Corporation", (0, 0), "", "MsiExec.exe /X{{8B9F5C12-0F5E-4C8A-A0A5-0B5E3C6D7E81}}",
                  servers_only=True, side_by_side=0.7),
    SoftwareEntry("Microsoft ODBC Driver 17 for SQL Server", ("17.10.6.1", "17.7.2.1"), "Microsoft Corporation",
                  (7_000, 7_500), "", "MsiExec.exe /X{{C5F3A1E2-3B4D-4E6F-8A7B-9C0D1E2F3A4B}}", servers_only=True,
                  side_by_side=0.3),
    SoftwareEntry("Windows Admin Center", ("2.2.2410.01002",), "Microsoft Corporation", (180_000, 190_000), "",
                  "MsiExec.exe /X{{4FAE3A2E-4369-490E-97F3-0B3BFF183AB9}}", servers_only=True),
)
