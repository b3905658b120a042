import Foundation

/// The counting half of the download display: which transfers run, how far each is, what happened since
/// the last look. Downloader threads report to it; a renderer looks at it on its own clock. Holding no
/// text, it is tested with an injected clock and no terminal.
public final class TransferBoard: @unchecked Sendable {
    /// One transfer as the board last saw it.
    public struct Item: Sendable, Equatable {
        public var id: Int
        public var name: String
        public var bytes: Int64
        public var total: Int64?
        /// Bytes it had when it began (resumed from a partial file): not part of its rate.
        public var startBytes: Int64
        public var started: Double
        public var finished: Double?
        /// Bytes per second over the last few seconds (active) or over its life (finished); nil until known.
        public var rate: Double?

        /// Seconds left at the current rate, when the size is known.
        public var eta: Double? {
            guard let total, let rate, rate > 0 else { return nil }
            return Double(max(0, total - bytes)) / rate
        }
    }

    public enum Event: Sendable, Equatable {
        case started(Item)
        case finished(Item)
        case failed(Item)
    }

    /// What a renderer draws from: events since the last frame, the transfers still running, and totals.
    public struct Frame: Sendable, Equatable {
        public var now: Double
        public var events: [Event]
        public var active: [Item]
        /// Bytes of all transfers, finished ones included, and their sum of sizes when every size is known.
        public var bytes: Int64
        public var total: Int64?
        public var finishedCount: Int
        public var count: Int
        /// The sum of the active transfers' rates.
        public var rate: Double?

        public var eta: Double? {
            guard let total, let rate, rate > 0 else { return nil }
            return Double(max(0, total - bytes)) / rate
        }
    }

    private let clock: @Sendable () -> Double
    private let lock = NSLock()
    private var items: [Int: Item] = [:]
    private var samples: [Int: [(time: Double, bytes: Int64)]] = [:]
    private var events: [Event] = []
    private var reported: Set<Int> = []
    private var nextID = 0
    /// Seconds of samples the current rate is measured over.
    private let window: Double = 5

    /// - Parameter clock: Seconds on a monotonic clock; tests pass their own.
    public init(clock: @escaping @Sendable () -> Double = TransferBoard.monotonicSeconds) {
        self.clock = clock
    }

    public static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Registers a transfer; returns its id for `update`, `finish` and `fail`.
    public func begin(_ name: String, total: Int64? = nil) -> Int {
        let now = clock()
        return lock.withLock {
            nextID += 1
            let item = Item(
                id: nextID, name: name, bytes: 0, total: total, startBytes: 0, started: now, finished: nil, rate: nil)
            items[nextID] = item
            events.append(.started(item))
            return nextID
        }
    }

    /// Records a downloader's progress. The first report sets the bytes it resumed from.
    public func update(_ id: Int, _ progress: DownloadProgress) {
        lock.withLock {
            guard var item = items[id], item.finished == nil else { return }
            if reported.insert(id).inserted {
                item.startBytes = progress.bytes
                samples[id] = nil
            }
            item.bytes = progress.bytes
            item.total = progress.total ?? item.total
            items[id] = item
        }
    }

    public func finish(_ id: Int) { end(id, failed: false) }

    public func fail(_ id: Int) { end(id, failed: true) }

    private func end(_ id: Int, failed: Bool) {
        let now = clock()
        lock.withLock {
            guard var item = items[id], item.finished == nil else { return }
            item.finished = now
            let elapsed = now - item.started
            item.rate = elapsed > 0 ? Double(item.bytes - item.startBytes) / elapsed : nil
            items[id] = item
            samples[id] = nil
            events.append(failed ? .failed(item) : .finished(item))
        }
    }

    /// Takes a look: samples every active transfer for its rate and hands over the events since the last look.
    public func frame() -> Frame {
        let now = clock()
        return lock.withLock {
            var active: [Item] = []
            for id in items.keys.sorted() {
                guard var item = items[id], item.finished == nil else { continue }
                var history = samples[id] ?? [(item.started, item.startBytes)]
                history.append((now, item.bytes))
                while history.count > 2 && now - history[1].time >= window { history.removeFirst() }
                samples[id] = history
                let span = now - history[0].time
                item.rate = span > 0 ? Double(item.bytes - history[0].bytes) / span : nil
                items[id] = item
                active.append(item)
            }
            let all = items.values
            let sizes = all.map(\.total)
            let frame = Frame(
                now: now, events: events, active: active, bytes: all.reduce(0) { $0 + $1.bytes },
                total: sizes.contains(nil) ? nil : sizes.reduce(0) { $0 + $1! },
                finishedCount: all.count { $0.finished != nil }, count: all.count,
                rate: active.contains { $0.rate != nil } ? active.reduce(0) { $0 + ($1.rate ?? 0) } : nil)
            events = []
            return frame
        }
    }
}
