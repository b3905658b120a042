import Foundation
import IsletCore
import Testing

/// Inputs that are valid YAML but that islet must not follow or pass on: files outside a stack, identity files
/// that are not key files, and the folders and files a message must name when there is no line to point at.
@Suite("Input limits")
struct InputLimitTests {
    static let fixtures = BadInputTests.fixtures

    /// Loads a scratch copy of the valid stacks and inventory (with its key) after `edit` changed it, and returns
    /// its diagnostics with the copy's folder stripped.
    static func diagnostics(after edit: (_ root: String) throws -> Void) throws -> [String] {
        let root = try scratchWorkspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try edit(root)
        return try diagnostics(root)
    }

    static func scratchWorkspace() throws -> String {
        let root = NSTemporaryDirectory() + "islet-input-limits-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures + "/stacks", toPath: root + "/stacks")
        try FileManager.default.copyItem(atPath: fixtures + "/keys", toPath: root + "/keys")
        try FileManager.default.createDirectory(atPath: root + "/inventories", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: fixtures + "/inventories/valid.yaml", toPath: root + "/inventories/valid.yaml")
        return root
    }

    static func diagnostics(_ root: String) throws -> [String] {
        let failure = try #require(throws: ValidationFailure.self) {
            try Workspace.load(
                inventoryPath: root + "/inventories/valid.yaml", stacksDirectory: root + "/stacks",
                statePath: root + "/.islet/state.json")
        }
        return failure.diagnostics.map { $0.description.replacingOccurrences(of: root + "/", with: "") }
    }

    @Test("a template that is a symlink to /etc/passwd is refused at validate, and its text is never read")
    func templateSymlinkToSystemFile() throws {
        let diagnostics = try Self.diagnostics { root in
            let template = root + "/stacks/base/registry.yml.mustache"
            try FileManager.default.removeItem(atPath: template)
            try FileManager.default.createSymbolicLink(atPath: template, withDestinationPath: "/etc/passwd")
        }
        #expect(
            diagnostics == [
                "stacks/base/stack.yaml:53:19: template 'registry.yml.mustache' resolves to /etc/passwd, outside the stack folder stacks/base; expected a file inside the stack folder (no symlink or '..' leading out)"
            ])
    }

    @Test("a script path with '..' that leads out of the stack folder is refused")
    func scriptPathLeadingOut() throws {
        let diagnostics = try Self.diagnostics { root in
            let stackFile = root + "/stacks/base/stack.yaml"
            let text = try String(contentsOfFile: stackFile, encoding: .utf8)
            try text.replacingOccurrences(of: "check: check-registry.sh", with: "check: ../apps/../../escape.sh")
                .write(toFile: stackFile, atomically: true, encoding: .utf8)
            try "#!/bin/sh\ntrue\n".write(toFile: root + "/escape.sh", atomically: true, encoding: .utf8)
        }
        #expect(
            diagnostics == [
                "stacks/base/stack.yaml:57:12: script file '../apps/../../escape.sh' resolves to escape.sh, outside the stack folder stacks/base; expected a file inside the stack folder (no symlink or '..' leading out)"
            ])
    }

    @Test(
        "template tags: names outside sections must be inputs; partials and delimiter changes are refused",
        arguments: [
            (
                "{{! NOPE in a comment }}{{#REGISTRY_TLS}}{{item}}{{/REGISTRY_TLS}}{{{REGISTRY_PORT}}}{{& NODE_ADDRESS}}",
                nil
            ),
            (
                "port: {{{NOPE}}}",
                "1:7: template 'registry.yml.mustache' of step 'base/registry-config' uses '{{{NOPE}}}', which is not an input of the step; expected one of NODE_ADDRESS, REGISTRY_PORT or REGISTRY_TLS (declare it under 'inputs:')"
            ),
            (
                "a\n{{=<% %>=}}",
                "2:1: template 'registry.yml.mustache' of step 'base/registry-config' uses a delimiter change '{{=<% %>=}}', which islet does not support; expected {{NAME}}, {{{NAME}}}, sections {{#NAME}}…{{/NAME}} and comments"
            ),
        ] as [(String, String?)])
    func templateTags(_ template: String, _ expected: String?) throws {
        let root = try Self.scratchWorkspace()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try template.write(toFile: root + "/stacks/base/registry.yml.mustache", atomically: true, encoding: .utf8)
        guard let expected else {
            _ = try Workspace.load(
                inventoryPath: root + "/inventories/valid.yaml", stacksDirectory: root + "/stacks",
                statePath: root + "/.islet/state.json")
            return
        }
        #expect(try Self.diagnostics(root) == ["stacks/base/registry.yml.mustache:" + expected])
    }

    @Test("an identity file larger than 64 KiB is refused at its line")
    func identityFileTooLarge() throws {
        let diagnostics = try Self.diagnostics { root in
            try Data(count: 65 * 1024 + 1).write(to: URL(fileURLWithPath: root + "/keys/id_ed25519"))
        }
        #expect(
            diagnostics == [
                "inventories/valid.yaml:12:17: 'ssh.identityFile' ../keys/id_ed25519 is 66561 bytes, more than a key file's 64 KiB; expected a regular, readable private key file of at most 64 KiB"
            ])
    }

    @Test("a missing identity file is a warning at validate, and an error before SSH only when no agent can stand in")
    func missingIdentityFile() throws {
        let path = Self.fixtures + "/inventories/warnings/missing-identity-file.yaml"
        let workspace = try Workspace.load(
            inventoryPath: path, stacksDirectory: Self.fixtures + "/stacks",
            statePath: NSTemporaryDirectory() + "islet-\(UUID().uuidString)/state.json")
        let inventory = workspace.inventory
        let warning =
            "\(path):13:17: 'ssh.identityFile' ../../keys/id_missing does not exist; islet will rely on ssh-agent or ISLET_SSH_PASSWORD (expected a private key file, or the key loaded in ssh-agent)"
        #expect(inventory.missingIdentityFiles.map(\.warning.description) == [warning])
        let withAgent = try inventory.checkIdentityFilesForSSH(environment: ["SSH_AUTH_SOCK": "/run/agent"])
        #expect(withAgent.map(\.description) == [warning])
        var complete = inventory
        complete.missingIdentityFiles = []
        #expect(try complete.checkIdentityFilesForSSH(environment: [:]) == [], "nothing missing, nothing to say")
        let failure = try #require(throws: ValidationFailure.self) {
            try inventory.checkIdentityFilesForSSH(environment: ["SSH_AUTH_SOCK": ""])
        }
        #expect(
            failure.diagnostics.map(\.description) == [
                "\(path):13:17: 'ssh.identityFile' ../../keys/id_missing does not exist and no ssh-agent is running (SSH_AUTH_SOCK is unset); expected a private key file, or the key loaded in ssh-agent"
            ])
    }

    @Test("no stacks: the message names the folder, or every folder searched, without a made-up line")
    func noStacks() throws {
        let empty = NSTemporaryDirectory() + "islet-no-stacks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        func message(_ directory: String, searched: [String] = []) throws -> String {
            let failure = try #require(throws: ValidationFailure.self) {
                try Catalog.load(directory: directory, searched: searched)
            }
            return failure.diagnostics.map(\.description).joined(separator: "\n")
        }
        #expect(
            try message(empty)
                == "\(empty): no stacks found: no folder in it holds a stack.yaml; expected folders that each hold a stack.yaml (or --stacks DIR)"
        )
        #expect(
            try message(empty + "/missing")
                == "\(empty)/missing: no such folder; expected folders that each hold a stack.yaml (or --stacks DIR)")
        #expect(
            try message(empty, searched: [empty, "/srv/stacks", "/srv/../stacks"])
                == "\(empty): no stacks found; searched \(empty), /srv/stacks and /srv/../stacks; expected folders that each hold a stack.yaml (or --stacks DIR)"
        )
    }

    @Test("init into a folder that does not exist names the folder")
    func initIntoMissingFolder() throws {
        let folder = NSTemporaryDirectory() + "islet-missing-\(UUID().uuidString)"
        let error = try #require(throws: InitError.self) {
            try ExampleInventory.write("kind: Inventory\n", to: folder + "/inventory.yaml")
        }
        #expect(
            error.description
                == "cannot write \(folder)/inventory.yaml: the folder \(folder) does not exist; expected an existing folder (create it first)"
        )
    }
}
