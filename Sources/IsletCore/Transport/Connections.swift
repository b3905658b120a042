import Foundation

/// The open connections of one run: one per node, opened on first use, shared by plan and apply.
public actor Connections {
    private let transport: any Transport
    private var sessions: [String: any NodeSession] = [:]
    private var failures: [String: String] = [:]
    private var opening: [String: Task<Result<any NodeSession, NodeUnreachable>, Never>] = [:]

    public init(transport: any Transport) {
        self.transport = transport
    }

    /// The node's session, connecting if needed; a node that failed once stays failed for the run.
    public func session(for node: NodeAddress) async -> Result<any NodeSession, NodeUnreachable> {
        if let session = sessions[node.name] { return .success(session) }
        if let message = failures[node.name] { return .failure(NodeUnreachable(node: node.name, message: message)) }
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
        case .success(let session): sessions[node.name] = session
        case .failure(let failure): failures[node.name] = failure.message
        }
        return result
    }

    public func closeAll() async {
        for session in sessions.values { await session.close() }
        sessions = [:]
    }
}

public struct NodeUnreachable: Error, Sendable, CustomStringConvertible {
    public var node: String
    public var message: String
    public var description: String { message.contains(node) ? message : "node \(node): \(message)" }
}
