import Breaker
import CoreMetrics
