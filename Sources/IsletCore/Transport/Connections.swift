import Foundation

/// The open connections of one run: one per node, opened on first use, shared by plan and apply.
///
/// A node fails for the whole run once: when it cannot be reached, or when the engine marks it failed
/// (`markFailed`, e.g. after a step timed out on a frozen node). From then on `session(for:)` returns
/// that failure at once, so its remaining steps are skipped instead of each waiting out a timeout.
public actor Connections {
    private let transport: any Transport
    private var sessions: [String: any NodeSession] = [:]
    private var failures: [String: String] = [:]
    private var opening: [String: Task<Result<any NodeSession, NodeUnreachable>, Never>] = [:]
    /// Sessions of nodes marked failed: no longer handed out, still closed (their threads joined) at the end.
    private var retired: [any NodeSession] = []

    public init(transport: any Transport) {
        self.transport = transport
    }

    /// The node's session, connecting if needed; a node that failed once stays failed for the run.
    public func session(for node: NodeAddress) async -> Result<any NodeSession, NodeUnreachable> {
        if let session = sessions[node.name] { return .success(session) }
        if let failure = failure(of: node.name) { return .failure(failure) }
        if let pending = opening[node.name] { return await pending.value }
        let transport = self.transport
        let task = Task { () -> Result<any NodeSession, NodeUnreachable> in
            do {
                return .success(try await transport.connect(to: node))
            } catch {
                return .failure(NodeUnreachable(node: node.name, message: "\(error)"))
            }
        }
        opening[node.name] = task
        let result = await task.value
        opening[node.name] = nil
        switch result {
        case .success(let session):
            // Marked failed while connecting: the failure stands.
            if let failure = failure(of: node.name) {
                retired.append(session)
                return .failure(failure)
            }
            sessions[node.name] = session
        case .failure(let failure): failures[node.name] = failure.message
        }
        return result
    }

    /// Why the node failed for this run, or nil while it is usable.
    public func failure(of node: String) -> NodeUnreachable? {
        failures[node].map { NodeUnreachable(node: node, message: $0) }
    }

    /// Marks the node failed for the rest of the run: from now on `session(for:)` returns `reason` at once.
    /// The first reason given stays.
    public func markFailed(node: String, reason: String) {
        guard failures[node] == nil else { return }
        failures[node] = reason
        if let session = sessions.removeValue(forKey: node) { retired.append(session) }
    }

    /// Marks the node failed if `error`, thrown by one of its session's operations, says its connection is
    /// dead (`ConnectionFailure`); a script that merely failed does not. Returns whether it did.
    @discardableResult
    public func markFailed(node: String, after error: any Error) -> Bool {
        guard let failure = error as? any ConnectionFailure, failure.connectionIsDead else { return false }
        markFailed(node: node, reason: "\(error)")
        return true
    }

    public func closeAll() async {
        for session in sessions.values { await session.close() }
        for session in retired { await session.close() }
        sessions = [:]
        retired = []
    }
}

/// An error a transport throws from a session's operations. `connectionIsDead` is true when the connection
/// itself is gone (the node froze or vanished: a timeout, a broken connection), not when a script failed.
public protocol ConnectionFailure: Error {
    var connectionIsDead: Bool { get }
}

public struct NodeUnreachable: Error, Sendable, CustomStringConvertible {
    public var node: String
    public var message: String
    public var description: String { message.contains(node) ? message : "node \(node): \(message)" }
}
