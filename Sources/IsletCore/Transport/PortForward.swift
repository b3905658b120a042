/// A local TCP address that reaches a `host:port` as one node sees it: how islet talks HTTP to a service on
/// the node's side (the internal registry) when islet cannot reach it directly.
///
/// Every connection made to it is carried on its own channel of the node's forwarding connection, so a
/// target that refuses one connection fails that connection only (it is reset, and the reason is kept in
/// `failures`).
public protocol PortForward: AnyObject, Sendable {
    /// Where to connect: `127.0.0.1` over SSH; on the local transport, the target itself.
    var host: String { get }
    var port: Int { get }
    /// Why connections through it failed, oldest first (the last 100), each naming the node and the target.
    var failures: [String] { get }
    /// Stops listening and closes every connection still open through it. Safe to call twice.
    func close() async
}

extension PortForward {
    /// `host:port`, ready for a URL.
    public var address: String { "\(host):\(port)" }
}
