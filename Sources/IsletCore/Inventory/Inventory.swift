import Foundation

/// The desired platform: one YAML file, the single source of truth.
public struct Inventory: Sendable {
    /// The path the user gave, used in messages.
    public var file: String
    public var cluster: Cluster
    public var nodes: [Node]
    /// Every declared setting by dotted key (`registry.port`), with stack defaults filled in.
    public var settings: [String: Value]
    /// Identity files the inventory names that do not exist: warned about at validate.
    public var missingIdentityFiles: [MissingIdentityFile] = []

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }
}

/// Cluster-wide settings every Kubernetes platform has.
public struct Cluster: Sendable, Hashable {
    public var name: String
    public var kubernetesVersion: String?
    public var controlPlaneEndpoint: String?
    public var podSubnet: String?
    public var serviceSubnet: String?
    /// The architecture of nodes that do not name their own (`cluster.arch`, default amd64).
    public var arch: Architecture = .amd64

    /// The fields by the name a stack uses to read them (`cluster.podSubnet`).
    public var fields: [String: String] {
        var fields = ["name": name]
        fields["kubernetesVersion"] = kubernetesVersion
        fields["controlPlaneEndpoint"] = controlPlaneEndpoint
        fields["podSubnet"] = podSubnet
        fields["serviceSubnet"] = serviceSubnet
        return fields
    }
}

/// One machine of the platform.
public struct Node: Sendable, Hashable {
    public var name: String
    public var address: String
    public var roles: [String]
    public var ssh: SSHSettings
    /// What the node runs on: artifacts are collected and delivered for it, and plan checks the node agrees.
    public var arch: Architecture

    public init(name: String, address: String, roles: [String], ssh: SSHSettings, arch: Architecture = .amd64) {
        self.name = name
        self.address = address
        self.roles = roles
        self.ssh = ssh
        self.arch = arch
    }

    public func hasAny(of roles: [String]) -> Bool {
        roles.isEmpty || roles.contains(where: self.roles.contains)
    }

    /// What a transport needs to reach it.
    public var connection: NodeAddress { NodeAddress(name: name, address: address, ssh: ssh) }
}

/// How islet reaches a node; the inventory's `ssh:` defaults merged with the node's own `ssh:`.
public struct SSHSettings: Sendable, Hashable, Codable {
    public enum Become: String, Sendable, Codable, CaseIterable { case sudo, none }

    public var user: String = "root"
    public var port: Int = 22
    public var identityFile: String?
    public var become: Become = .none
    public var bastion: Bastion?
    /// Seconds allowed for the TCP connection and SSH handshake.
    public var connectTimeout: Int = 10

    public init() {}
}

/// A jump host the node's connection goes through.
public struct Bastion: Sendable, Hashable, Codable {
    public var host: String
    public var user: String
    public var port: Int
    public var identityFile: String?
}
