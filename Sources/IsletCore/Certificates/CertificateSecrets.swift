import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificates behind `secrets:` of kind certificate-authority and certificate. islet is the authority:
/// its key stays in the secrets file on the operator's machine, and only certificates and a server's own key
/// reach a node. Keys are ECDSA P-256, which every TLS stack the platform uses reads (Go, OpenSSL, curl).
///
/// A stored value is the private key and the certificate, both PEM, one after the other.
public enum CertificateSecrets {
    /// Long enough that nodes trusting it never need telling again during a site's life.
    static let authorityLifetime: TimeInterval = 10 * 365 * 86_400
    static let serverLifetime: TimeInterval = 2 * 365 * 86_400
    /// A server certificate this close to its end is issued anew at the next apply (the plan shows the update).
    static let renewalMargin: TimeInterval = 30 * 86_400
    /// Clocks on the nodes may run behind the operator's.
    static let backdating: TimeInterval = 3_600

    struct Stored {
        var key: P256.Signing.PrivateKey
        var keyPEM: String
        var certificate: Certificate
        var certificatePEM: String
    }

    /// A new authority named `commonName`.
    static func makeAuthority(commonName: String, now: Date = Date()) throws -> String {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try DistinguishedName { CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now - backdating, notValidAfter: now + authorityLifetime, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return try encode(key: key, certificate: certificate)
    }

    /// A server key and certificate for `dnsNames` and `ipAddresses`, signed by the stored `authority`.
    /// - Throws: `CertificateError` when an address is not an IP address or the authority cannot be read.
    static func issue(authority: String, dnsNames: [String], ipAddresses: [String], now: Date = Date()) throws
        -> String
    {
        guard let issuer = parse(authority) else { throw CertificateError.unreadableAuthority }
        let names = try alternativeNames(dnsNames: dnsNames, ipAddresses: ipAddresses)
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let subject = try DistinguishedName { CommonName(dnsNames.first ?? ipAddresses.first ?? "islet") }
        let authorityKeyID = try issuer.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now - backdating,
            notValidAfter: min(now + serverLifetime, issuer.certificate.notValidAfter),
            issuer: issuer.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(issuer.key))
        return try encode(key: key, certificate: certificate)
    }

    /// Whether the stored server certificate still serves: signed by this authority, for exactly these names
    /// and addresses, and not near its end.
    static func serves(
        _ stored: String, authority: String, dnsNames: [String], ipAddresses: [String], now: Date = Date()
    ) -> Bool {
        guard let server = parse(stored), let issuer = parse(authority),
            let wanted = try? alternativeNames(dnsNames: dnsNames, ipAddresses: ipAddresses),
            let present = try? server.certificate.extensions.subjectAlternativeNames
        else { return false }
        return server.certificate.issuer == issuer.certificate.subject
            && issuer.certificate.publicKey.isValidSignature(server.certificate.signature, for: server.certificate)
            && Set(present.map { "\($0)" }) == Set(wanted.map { "\($0)" })
            && server.certificate.notValidAfter > now + renewalMargin
    }

    /// The value of one of the secret's variables: NAME_CERT (the certificate) or NAME_KEY (the private key).
    static func variable(_ variable: String, of secret: SecretDeclaration, stored: String) -> String {
        guard let parsed = parse(stored) else { return "" }
        return variable == secret.name + "_KEY" ? parsed.keyPEM : parsed.certificatePEM
    }

    static func parse(_ stored: String) -> Stored? {
        guard let documents = try? PEMDocument.parseMultiple(pemString: stored), documents.count == 2,
            let key = try? P256.Signing.PrivateKey(pemRepresentation: documents[0].pemString),
            let certificate = try? Certificate(pemDocument: documents[1])
        else { return nil }
        return Stored(
            key: key, keyPEM: documents[0].pemString + "\n", certificate: certificate,
            certificatePEM: documents[1].pemString + "\n")
    }

    private static func encode(key: P256.Signing.PrivateKey, certificate: Certificate) throws -> String {
        key.pemRepresentation + "\n" + (try certificate.serializeAsPEM().pemString) + "\n"
    }

    private static func alternativeNames(dnsNames: [String], ipAddresses: [String]) throws -> [GeneralName] {
        var names = dnsNames.filter { !$0.isEmpty }.map { GeneralName.dnsName($0) }
        for text in ipAddresses where !text.isEmpty {
            guard let bytes = addressBytes(text) else { throw CertificateError.notAnAddress(text) }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        return names
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address in text.
    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

public enum CertificateError: Error, Equatable, CustomStringConvertible {
    case notAnAddress(String)
    case unreadableAuthority

    public var description: String {
        switch self {
        case .notAnAddress(let text):
            return "'\(text)' is not an IP address; expected IPv4 or IPv6 for a certificate's ipAddresses"
        case .unreadableAuthority:
            return
                "the certificate authority in the secrets file cannot be read; expected a key and a certificate (PEM)"
        }
    }
}
