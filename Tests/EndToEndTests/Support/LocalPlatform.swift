import Foundation

/// A temporary platform for `--local` runs: one stack (`stacks/<name>/stack.yaml`, header added) whose steps
/// run on role `web`, and an inventory with node n1. Removed by the caller.
func makeLocalPlatform(prefix: String, stack name: String, steps: String) -> String {
    let dir = makeTemporaryDirectory(prefix)
    try? FileManager.default.createDirectory(atPath: dir + "/stacks/\(name)", withIntermediateDirectories: true)
    let stack = "apiVersion: islet/v1\nkind: Stack\nname: \(name)\nroles: [{name: web}]\nsteps:\n" + steps
    _ = FileManager.default.createFile(atPath: dir + "/stacks/\(name)/stack.yaml", contents: Data(stack.utf8))
    let inventory = """
        apiVersion: islet/v1
        kind: Inventory
        cluster: {name: local}
        nodes:
          - {name: n1, address: 10.9.0.1, roles: [web]}
        """
    _ = FileManager.default.createFile(atPath: dir + "/inventory.yaml", contents: Data(inventory.utf8))
    return dir
}
