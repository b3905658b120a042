import Foundation

/// What apply will do to one step on one node.
public enum Action: String, Codable, Sendable, CaseIterable {
    /// Never applied and its check fails.
    case create
    /// Never applied, but its check already passes: recorded, nothing runs.
    case adopt
    /// Applied before, but what defines it changed.
    case update
    /// Applied with the same definition, but its check fails now: something drifted.
    case repair
    /// Recorded, but its node or step is no longer desired.
    case remove
    /// A short-lived step (`ephemeral: true`) that runs because a step reading its outputs acts.
    case run
    case noChange = "no-change"

    public var symbol: String {
        switch self {
        case .create: return "+"
        case .adopt: return "="
        case .update: return "~"
        case .repair: return "!"
        case .remove: return "-"
        case .run: return ">"
        case .noChange: return " "
        }
    }

    /// Whether apply executes a script for it.
    public var runsScripts: Bool { [.create, .update, .repair, .remove, .run].contains(self) }
}

public struct PlannedChange: Codable, Sendable, Equatable {
    public var node: String
    public var step: StepID
    public var action: Action
    /// Why, in a few words: "check failed", "file /etc/x differs", "inputs changed: PORT".
    public var reason: String
    /// The fingerprint apply will record; nil when it depends on values known only during apply.
    public var fingerprint: String?
    /// For `remove` with `removeOn`: the node the remove script runs on.
    public var runsOn: String?
    /// Managed files already as rendered on the node: apply does not upload them again.
    public var filesInPlace: [String]?
    /// For `adopt`: outputs the check reported, recorded as the step's outputs.
    public var adoptedOutputs: [String]?
    /// Why the step cannot be planned (an input it cannot pass, a template that does not render), naming the
    /// stack file and line; apply counts it as failed and skips what depends on it.
    public var error: String?
}

public struct NodeFailure: Codable, Sendable, Equatable {
    public var node: String
    public var message: String
}

/// The result of `islet plan`: every decision, bound to the state and inputs it was made from.
public struct Plan: Codable, Sendable {
    public static let currentFormatVersion = 1

    public var formatVersion = Plan.currentFormatVersion
    public var isletVersion = Islet.version
    public var createdAt: String
    /// The state's lineage and serial when the plan was made (nil and 0 before the first apply).
    public var lineage: String?
    public var serial: Int
    public var inventoryDigest: String
    public var stacksDigest: String
    public var target: String?
    public var changes: [PlannedChange]
    public var facts: [String: [String: String]]
    public var failures: [NodeFailure]

    /// Changes that do something, removals first.
    public var actionable: [PlannedChange] {
        changes.filter { $0.action == .remove } + changes.filter { $0.action != .remove && $0.action != .noChange }
    }

    public var hasChanges: Bool { !actionable.isEmpty }

    /// Steps that could not be planned.
    public var stepErrors: [PlannedChange] { changes.filter { $0.error != nil } }

    public func count(_ action: Action) -> Int { changes.filter { $0.action == action }.count }

    /// `Plan: 3 to create, 1 to update, 1 to repair, 0 to remove.` plus adoptions and runs when there are any.
    public var summary: String {
        var parts = [
            "\(count(.create)) to create", "\(count(.update)) to update", "\(count(.repair)) to repair",
            "\(count(.remove)) to remove",
        ]
        if count(.adopt) > 0 { parts.append("\(count(.adopt)) to adopt") }
        if count(.run) > 0 { parts.append("\(count(.run)) to run") }
        return "Plan: " + parts.joined(separator: ", ") + "."
    }
}

/// Facts about islet itself.
public enum Islet {
    public static let version = "0.1.0"
}
