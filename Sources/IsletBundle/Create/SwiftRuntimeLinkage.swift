import Foundation

/// Whether the running islet loads the Swift runtime as a shared library, and from where. A bundle carries
/// the islet that made it to the closed site; one built without `--static-swift-stdlib` does not start on a
/// machine that lacks that same toolchain folder, so `bundle create` says so.
enum SwiftRuntimeLinkage {
    /// The folder of the shared `libswiftCore.so` this process mapped, or nil when the runtime is linked in.
    /// - Parameter maps: the text of `/proc/self/maps` (a parameter for tests).
    static func sharedRuntimeFolder(maps: String? = processMaps()) -> String? {
        guard let maps else { return nil }
        for line in maps.split(separator: "\n") {
            // The path is the sixth field; it is the last one and may hold spaces.
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = line[slash...]
            if path.hasSuffix("/libswiftCore.so") { return String(path.dropLast("/libswiftCore.so".count)) }
        }
        return nil
    }

    /// `/proc/self/maps` read to its end (a proc file reports size 0, so whole-file readers stop early).
    static func processMaps() -> String? {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
