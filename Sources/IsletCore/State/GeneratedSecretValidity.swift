import HummingbirdBcrypt

extension SecretDeclaration {
    /// Whether a stored generated value still holds for what it is made from now, at plan and at apply
    /// alike: a bcrypt hash must verify against the current password, a server certificate must serve
    /// these hosts under the current authority and not be near its end. A password or an authority, once
    /// made, always holds.
    /// - Parameter sibling: the stored value of another secret of the same step, by name.
    func stillHolds(_ stored: String, hosts: CertificateHosts?, sibling: (String) -> String?) -> Bool {
        switch kind {
        case .password, .certificateAuthority:
            return true
        case .bcrypt(let of):
            return Bcrypt.verify(sibling(of) ?? "", hash: stored)
        case .certificate(let authority, _, _):
            let hosts = hosts ?? CertificateHosts(dnsNames: [], ipAddresses: [])
            return CertificateSecrets.serves(
                stored, authority: sibling(authority) ?? "", dnsNames: hosts.dnsNames, ipAddresses: hosts.ipAddresses)
        }
    }
}
