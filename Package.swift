// swift-tools-version: 6.0
//
// rehost: sealed, encrypted snapshots of a certificate authority's data.
//
// Layering (each arrow is "may import"):
//   RehostBase (errors, byte-stream protocols, byte-exact paths) and C shims (CArchive, CZstd, COpenSSL, CPosix, CResidues)
//     -> RehostCrypto   (the only module that touches OpenSSL)
//     -> RehostFormat   (archive header, chunked stream, recipients, manifest, seal; pure Swift)
//     -> RehostStorage  (libarchive tar, libzstd streams, the tree walker and writer on directory
//                        descriptors, atomic files, locks, interruption; no crypto)
//     -> RehostMath     (GMP: batch GCD and the modulus checks of `rehost check`)
//     -> RehostDatabases (SQLite backup API; pg_dump and mariadb-dump driven over pipes)
//     -> RehostServices (keygen, snapshot, verify, restore, inspect)
//     -> RehostRunbooks (runbook files, runs, journals, reports)
//     -> RehostBackups  (nightly backups: repositories, chained seals, retention, the chain's audit)
//     -> rehost         (thin command-line front end)
//   RehostFuzz: libFuzzer targets for the parsers (make fuzz).
import PackageDescription

let package = Package(
  name: "rehost",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "rehost", targets: ["rehost"]),
    // libFuzzer targets for every parser (`make fuzz`; built with --sanitize=fuzzer).
    .executable(name: "rehost-fuzz", targets: ["RehostFuzz"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // Inventory files (manifests/*.yaml) are YAML.
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    .systemLibrary(
      name: "CArchive", pkgConfig: "libarchive",
      providers: [.apt(["libarchive-dev"]), .brew(["libarchive"])]),
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd",
      providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
    .systemLibrary(
      name: "COpenSSL", pkgConfig: "openssl",
      providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
    // A compiled C target (not a header-only module): its header includes no system header.
    .target(name: "CPosix"),
    // The residue kernels of `rehost check` (SmallPrimeResidues): one portable, one AVX-512 IFMA.
    .target(name: "CResidues"),
    .systemLibrary(
      name: "CSQLite", pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
    .systemLibrary(
      name: "CGMP", pkgConfig: "gmp",
      providers: [.apt(["libgmp-dev"]), .brew(["gmp"])]),

    .target(name: "RehostBase"),
    .target(name: "RehostCrypto", dependencies: ["RehostBase", "COpenSSL"]),
    .target(name: "RehostFormat", dependencies: ["RehostBase", "RehostCrypto"]),
    .target(name: "RehostStorage", dependencies: ["RehostBase", "CArchive", "CZstd", "CPosix"]),
    .target(name: "RehostMath", dependencies: ["CGMP", "CResidues"]),
    .target(name: "RehostDatabases", dependencies: ["RehostBase", "RehostCrypto", "RehostFormat", "RehostStorage", "CSQLite"]),
    .target(
      name: "RehostServices",
      dependencies: ["RehostBase", "RehostCrypto", "RehostFormat", "RehostStorage", "RehostMath", "RehostDatabases",
        .product(name: "Yams", package: "Yams"),
      ]),
    // Runbooks: documented procedures executed step by step, journalled and witnessed.
    .target(
      name: "RehostRunbooks",
      dependencies: ["RehostBase", "RehostCrypto", "RehostFormat", "RehostStorage", "RehostServices",
        .product(name: "Yams", package: "Yams"),
      ]),
    // Nightly backups: repositories of chained seals, retention, the chain's audit.
    .target(
      name: "RehostBackups",
      dependencies: ["RehostBase", "RehostCrypto", "RehostFormat", "RehostStorage", "RehostDatabases", "RehostServices",
        .product(name: "Yams", package: "Yams"),
      ]),
    .executableTarget(
      name: "rehost",
      dependencies: [
        "RehostServices", "RehostRunbooks", "RehostBackups", "RehostFormat", "RehostBase", "RehostCrypto", "RehostStorage", "RehostDatabases",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    .executableTarget(
      name: "RehostFuzz", dependencies: ["RehostBase", "RehostCrypto", "RehostFormat", "RehostServices", "RehostRunbooks", "RehostBackups"]),

    .testTarget(name: "RehostCryptoTests", dependencies: ["RehostCrypto", "RehostBase"]),
    .testTarget(name: "RehostMathTests", dependencies: ["RehostMath"]),
    .testTarget(name: "RehostFormatTests", dependencies: ["RehostFormat", "RehostCrypto", "RehostBase"]),
    .testTarget(
      name: "RehostServicesTests",
      dependencies: ["RehostServices", "RehostFormat", "RehostStorage", "RehostCrypto", "RehostBase"]),
    .testTarget(name: "RehostDatabasesTests", dependencies: ["RehostDatabases", "RehostFormat", "RehostBase"]),
    .testTarget(name: "RehostBackupsTests", dependencies: ["RehostBackups", "RehostCrypto", "RehostBase"]),
    .testTarget(name: "RehostRunbooksTests", dependencies: ["RehostRunbooks", "RehostServices", "RehostFormat", "RehostCrypto", "RehostBase"]),
    .testTarget(name: "EndToEndTests", dependencies: ["RehostFormat"], exclude: ["Scripts"]),
  ]
)
