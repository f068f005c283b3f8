import ArgumentParser
import BreakerDemo

// The demo library knows nothing of the argument parser; the command teaches it to read these.
extension Scenario: ExpressibleByArgument {}
extension PolicyChoice: ExpressibleByArgument {}
