import Foundation
import Testing

@testable import IsletCore

@Suite struct ExampleInventoryTests {
    /// `islet init` output must itself be a valid inventory for the stacks it was made from.
    @Test func theGeneratedExampleValidatesAgainstItsStacks() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let catalog = try Catalog.load(directory: root.appendingPathComponent("stacks").path)
        let text = ExampleInventory.render(catalog)
        let dir = NSTemporaryDirectory() + "islet-init-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/.ssh", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/.ssh/id_ed25519", contents: Data())
        try text.write(toFile: dir + "/inventory.yaml", atomically: true, encoding: .utf8)
        let inventory = try InventoryLoader(schema: catalog.schema, homeDirectory: dir).load(
            path: dir + "/inventory.yaml")
        #expect(Set(inventory.nodes.flatMap(\.roles)) == Set(catalog.schema.roles.map(\.name)))
        #expect(inventory.settings["base.dataDirectory"] == .string("/var/lib/islet"))
    }
}
