import Foundation
import Testing

@testable import IsletCore

/// The certificates islet makes, checked by OpenSSL's own verifier (as curl and the registry's clients check
/// them), and the rules for issuing one anew.
@Suite struct CertificateSecretsTests {
    let authority: String
    let server: String

    init() throws {
        authority = try CertificateSecrets.makeAuthority(commonName: "test CA")
        server = try CertificateSecrets.issue(
            authority: authority, dnsNames: ["registry.lan"], ipAddresses: ["10.9.0.1", "fd00::1"])
    }

    func part(_ stored: String, key: Bool) -> String {
        let declaration = SecretDeclaration(
            name: "X", kind: .certificate(authority: "CA", dnsNames: [], ipAddresses: []))
        return CertificateSecrets.variable(key ? "X_KEY" : "X_CERT", of: declaration, stored: stored)
    }

    /// `openssl verify` of the server certificate against the authority, for a host name or an address.
    func opensslVerifies(_ arguments: [String], authority: String) throws -> (Bool, String) {
        let dir = NSTemporaryDirectory() + "islet-cert-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try part(authority, key: false).write(toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        try part(server, key: false).write(toFile: dir + "/server.pem", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments =
            ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", dir + "/ca.pem"]
            + arguments + [dir + "/server.pem"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, output)
    }

    @Test func opensslAcceptsTheServerForItsNamesAndAddressesOnly() throws {
        for check in [
            ["-verify_hostname", "registry.lan"], ["-verify_ip", "10.9.0.1"], ["-verify_ip", "fd00::1"],
        ] {
            let (ok, output) = try opensslVerifies(check, authority: authority)
            #expect(ok, "\(check): \(output)")
        }
        let (otherName, _) = try opensslVerifies(["-verify_hostname", "evil.lan"], authority: authority)
        #expect(!otherName)
        let (otherAddress, _) = try opensslVerifies(["-verify_ip", "10.9.0.2"], authority: authority)
        #expect(!otherAddress)
        let stranger = try CertificateSecrets.makeAuthority(commonName: "test CA")
        let (otherAuthority, _) = try opensslVerifies(["-verify_hostname", "registry.lan"], authority: stranger)
        #expect(!otherAuthority)
    }

    @Test func aServerCertificateServesUntilItsHostsAuthorityOrLifetimeChange() throws {
        let hosts = (dns: ["registry.lan"], ips: ["10.9.0.1", "fd00::1"])
        #expect(CertificateSecrets.serves(server, authority: authority, dnsNames: hosts.dns, ipAddresses: hosts.ips))
        #expect(
            !CertificateSecrets.serves(server, authority: authority, dnsNames: ["other.lan"], ipAddresses: hosts.ips))
        #expect(
            !CertificateSecrets.serves(server, authority: authority, dnsNames: hosts.dns, ipAddresses: ["10.9.0.1"]))
        let stranger = try CertificateSecrets.makeAuthority(commonName: "test CA")
        #expect(!CertificateSecrets.serves(server, authority: stranger, dnsNames: hosts.dns, ipAddresses: hosts.ips))
        // Within 30 days of its end it is issued anew; a day later than now it still serves.
        let nearEnd = Date() + CertificateSecrets.serverLifetime - 29 * 86_400
        #expect(
            !CertificateSecrets.serves(
                server, authority: authority, dnsNames: hosts.dns, ipAddresses: hosts.ips, now: nearEnd))
        #expect(
            CertificateSecrets.serves(
                server, authority: authority, dnsNames: hosts.dns, ipAddresses: hosts.ips, now: Date() + 86_400))
    }

    @Test func anAddressThatIsNotOneIsRefusedByName() {
        #expect(throws: CertificateError.notAnAddress("registry.lan")) {
            _ = try CertificateSecrets.issue(authority: authority, dnsNames: [], ipAddresses: ["registry.lan"])
        }
    }
}
