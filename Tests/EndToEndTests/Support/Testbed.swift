import Foundation
import IsletTestSupport
import Testing

/// Fresh simulated nodes around each test of a suite, stopped afterwards even when the test fails.
struct FreshTestbed: TestTrait, SuiteTrait, TestScoping {
    var nodes: Int
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void)
        async throws
    {
        guard !test.isSuite else { return try await function() }
        try await Testbed.fresh(nodes: nodes, function)
    }
}

extension Trait where Self == FreshTestbed {
    static func freshTestbed(nodes: Int) -> FreshTestbed { FreshTestbed(nodes: nodes) }
}
