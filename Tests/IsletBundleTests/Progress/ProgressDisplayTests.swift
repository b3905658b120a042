import Foundation
import Testing

@testable import IsletBundle

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double = 1_000

    func now() -> Double { lock.withLock { seconds } }

    func advance(_ delta: Double) { lock.withLock { seconds += delta } }
}

@Suite struct ProgressDisplayTests {
    private let mib: Int64 = 1 << 20

    @Test func theBoardCountsRatesAndTotals() {
        let clock = ManualClock()
        let board = TransferBoard(clock: clock.now)
        let kubeadm = board.begin("kubeadm")
        let helm = board.begin("helm", total: 40 * mib)
        board.update(kubeadm, DownloadProgress(bytes: 0, total: 100 * mib))
        board.update(helm, DownloadProgress(bytes: 0, total: 40 * mib))
        let first = board.frame()
        #expect(first.events.count == 2)
        #expect(first.total == 140 * mib)

        clock.advance(2)
        board.update(kubeadm, DownloadProgress(bytes: 20 * mib, total: 100 * mib))
        board.update(helm, DownloadProgress(bytes: 40 * mib, total: 40 * mib))
        let second = board.frame()
        #expect(second.events.isEmpty)
        #expect(second.active.map(\.rate) == [Double(10 * mib), Double(20 * mib)])
        #expect(second.active[0].eta == 8)
        #expect(second.bytes == 60 * mib)
        #expect(second.rate == Double(30 * mib))

        clock.advance(1)
        board.finish(helm)
        let third = board.frame()
        guard case .finished(let done) = third.events.first else {
            Issue.record("expected helm to finish, got \(third.events)")
            return
        }
        #expect(done.rate == Double(40 * mib) / 3)
        #expect(third.active.map(\.name) == ["kubeadm"])
        #expect(third.finishedCount == 1)
        #expect(third.count == 2)
    }

    @Test func aResumedTransferRatesOnlyWhatItDownloaded() {
        let clock = ManualClock()
        let board = TransferBoard(clock: clock.now)
        let id = board.begin("etcd")
        board.update(id, DownloadProgress(bytes: 50 * mib, total: 60 * mib))
        clock.advance(5)
        board.update(id, DownloadProgress(bytes: 60 * mib, total: 60 * mib))
        board.finish(id)
        guard case .finished(let item) = board.frame().events.last else {
            Issue.record("etcd did not finish")
            return
        }
        #expect(item.startBytes == 50 * mib)
        #expect(item.rate == Double(2 * mib))
        #expect(ProgressText.finished(item) == "downloaded etcd: 60.0 MiB in 5.0 s (2.0 MiB/s), resumed at 50.0 MiB")
    }

    @Test func plainLinesAtStartEndAndEveryTenSecondsForLongFiles() {
        let clock = ManualClock()
        let board = TransferBoard(clock: clock.now)
        var renderer = PlainProgressRenderer(interval: 10)
        let id = board.begin("kubeadm", total: 100 * mib)
        board.update(id, DownloadProgress(bytes: 0, total: 100 * mib))
        #expect(renderer.render(board.frame()) == "downloading kubeadm (100.0 MiB)\n")
        clock.advance(4)
        board.update(id, DownloadProgress(bytes: 20 * mib, total: 100 * mib))
        #expect(renderer.render(board.frame()).isEmpty, "nothing before 10 s")
        clock.advance(6)
        board.update(id, DownloadProgress(bytes: 50 * mib, total: 100 * mib))
        #expect(renderer.render(board.frame()) == "kubeadm:  50.0 MiB of 100.0 MiB  50%  5.0 MiB/s  ETA 0:10\n")
        clock.advance(5)
        #expect(renderer.render(board.frame()).isEmpty, "at most one line per 10 s")
        board.update(id, DownloadProgress(bytes: 100 * mib, total: 100 * mib))
        board.finish(id)
        #expect(renderer.render(board.frame()) == "downloaded kubeadm: 100.0 MiB in 15.0 s (6.7 MiB/s)\n")
    }

    @Test func aTerminalRedrawsOneLinePerActiveFileAndATotal() {
        let clock = ManualClock()
        let board = TransferBoard(clock: clock.now)
        var renderer = TerminalProgressRenderer(width: 100)
        let a = board.begin("kubeadm", total: 100 * mib)
        let b = board.begin("cni-plugins")
        board.update(a, DownloadProgress(bytes: 0, total: 100 * mib))
        board.update(b, DownloadProgress(bytes: 0, total: nil))
        let first = renderer.render(board.frame())
        #expect(
            first == """
                kubeadm                   0 B of 100.0 MiB  0%
                cni-plugins               0 B
                total 0/2 done            0 B

                """)
        clock.advance(2)
        board.update(a, DownloadProgress(bytes: 10 * mib, total: 100 * mib))
        board.update(b, DownloadProgress(bytes: 3 * mib, total: 4 * mib))
        let second = renderer.render(board.frame())
        #expect(second.hasPrefix("\u{1B}[3F\u{1B}[J"), "moves up over the 3 lines drawn before and clears them")
        #expect(
            second.dropFirst("\u{1B}[3F\u{1B}[J".count) == """
                kubeadm                   10.0 MiB of 100.0 MiB  10%  5.0 MiB/s  ETA 0:18
                cni-plugins               3.0 MiB of 4.0 MiB  75%  1.5 MiB/s  ETA 0:01
                total 0/2 done            13.0 MiB of 104.0 MiB  12%  6.5 MiB/s  ETA 0:14

                """)
        board.update(b, DownloadProgress(bytes: 4 * mib, total: 4 * mib))
        board.finish(b)
        board.fail(a)
        let last = renderer.render(board.frame())
        #expect(
            last == "\u{1B}[3F\u{1B}[J" + "downloaded cni-plugins: 4.0 MiB in 2.0 s (2.0 MiB/s)\n"
                + "failed kubeadm after 10.0 MiB in 2.0 s\n")
        #expect(renderer.render(board.frame()).isEmpty, "nothing left to redraw")
    }

    @Test func longLinesAreCutToTheTerminalWidth() {
        let board = TransferBoard(clock: ManualClock().now)
        _ = board.begin(String(repeating: "x", count: 200))
        var renderer = TerminalProgressRenderer(width: 40)
        for line in renderer.render(board.frame()).split(separator: "\n") {
            #expect(line.count < 40)
        }
    }

    @Test func byteAndTimeFormats() {
        #expect(ProgressText.bytes(512) == "512 B")
        #expect(ProgressText.bytes(1536) == "1.5 KiB")
        #expect(ProgressText.bytes(1 << 30) == "1.00 GiB")
        #expect(ProgressText.duration(0.42) == "0.4 s")
        #expect(ProgressText.duration(185) == "3:05")
        #expect(ProgressText.clock(3723) == "1:02:03")
    }

    @Test func theDisplayWritesPlainLinesAndItsLastFrameOnClose() {
        let written = ResultBox<String>(count: 1)
        written.set(0, "")
        let display = DownloadProgressDisplay(terminal: false) { text in written.set(0, written.get(0) + text) }
        let id = display.board.begin("helm", total: 2_048)
        display.board.update(id, DownloadProgress(bytes: 0, total: 2_048))
        display.board.update(id, DownloadProgress(bytes: 2_048, total: 2_048))
        display.board.finish(id)
        display.close()
        #expect(written.get(0).hasPrefix("downloading helm (2.0 KiB)\ndownloaded helm: 2.0 KiB in "))
        #expect(written.get(0).hasSuffix("\n"))
    }
}
