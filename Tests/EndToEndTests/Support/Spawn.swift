import Foundation
import IsletTestSupport

/// Runs a program to completion, its output going to a file (see `spawnProcess` for why not Process).
func spawnAndWait(_ arguments: [String], environment: [String: String], outputPath: String) throws -> Int32 {
    waitForExit(try spawnProcess(arguments, environment: environment, stdoutPath: outputPath))
}
