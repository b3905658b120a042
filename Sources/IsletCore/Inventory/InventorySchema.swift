import Foundation

/// What an inventory may contain beyond the fixed fields: the roles and settings the stacks declare.
/// The engine hard-codes neither; it validates the inventory against the union of the stacks' declarations.
public struct InventorySchema: Sendable {
    public var roles: [RoleDeclaration]
    public var settings: [SettingDeclaration]

    public init(roles: [RoleDeclaration], settings: [SettingDeclaration]) {
        self.roles = roles
        self.settings = settings
    }

    public func setting(_ key: String) -> SettingDeclaration? { settings.first { $0.key == key } }

    /// Keys of the settings declared `secret: true`.
    public var secretKeys: Set<String> { Set(settings.filter(\.secret).map(\.key)) }
}

/// A role a stack runs on, with how many nodes may hold it.
public struct RoleDeclaration: Sendable, Hashable {
    public var name: String
    public var description: String
    public var minimum: Int
    public var maximum: Int?
    public var declaredBy: String

    public var countDescription: String {
        switch (minimum, maximum) {
        case (let low, let high?) where low == high: return "exactly \(low)"
        case (let low, nil): return "at least \(low)"
        case (let low, let high?): return "from \(low) to \(high)"
        }
    }
}

/// The type of a setting, checked when the inventory is loaded.
public enum SettingType: String, Sendable, CaseIterable {
    case string, integer, port, boolean, ip, cidr, host, version, list, map

    var expectation: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .port: return "a port number from 1 to 65535"
        case .boolean: return "true or false"
        case .ip: return "an IP address"
        case .cidr: return "a CIDR such as 10.0.0.0/16"
        case .host: return "an IP address or host name"
        case .version: return "a version MAJOR.MINOR.PATCH"
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }
}

/// A setting a stack reads from the inventory's `settings:`.
public struct SettingDeclaration: Sendable, Hashable {
    /// Dotted path below `settings:`, e.g. `registry.port`.
    public var key: String
    public var type: SettingType
    public var defaultValue: Value?
    public var description: String
    /// For a list of mappings: each item's fields and their types; every field is required.
    public var fields: [String: SettingType]
    public var declaredBy: String
    /// A password or key: masked in every line islet prints, fingerprinted by its hash, and best given
    /// in the inventory as `{fromEnv: VARIABLE}` so it never lands in git.
    public var secret: Bool = false
}
