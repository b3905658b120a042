// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "islet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "islet", targets: ["islet"]),
        .library(name: "IsletCore", targets: ["IsletCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
    ],
    targets: [
        // The engine: inventory, stacks, plan, apply, state. Knows no component by name.
        .target(
            name: "IsletCore",
            dependencies: [
                "Yams",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]
        ),

        // libssh2 1.10 from Debian, with a shim for the macros Swift cannot import.
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),

        // The SSH transport: sessions on their own threads, exec, SFTP, known_hosts, bastion.
        .target(
            name: "IsletSSH",
            dependencies: ["CLibSSH2", "IsletCore", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // libcurl from Debian, with a shim for its variadic setopt/getinfo.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // The offline bundle: downloads over libcurl, the OCI image layout, the registry client, verify.
        .target(
            name: "IsletBundle",
            dependencies: ["CCurl", "IsletCore", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // The command-line tool: thin commands over the libraries.
        .executableTarget(
            name: "islet",
            dependencies: [
                "IsletCore",
                "IsletSSH",
                "IsletBundle",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests
        .testTarget(
            name: "IsletCoreTests",
            dependencies: ["IsletCore", .product(name: "HummingbirdBcrypt", package: "hummingbird-auth")],
            exclude: ["Fixtures"]),
        .target(
            name: "IsletTestSupport",
            dependencies: ["IsletCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/IsletTestSupport"
        ),
        .testTarget(name: "IsletSSHTests", dependencies: ["IsletSSH", "IsletTestSupport"]),
        .testTarget(
            name: "IsletBundleTests", dependencies: ["IsletBundle", "IsletTestSupport"],
            exclude: ["Support/http_server.py"]),
        .testTarget(name: "EndToEndTests", dependencies: ["IsletCore", "IsletTestSupport"], exclude: ["Fixtures"]),
    ]
)
