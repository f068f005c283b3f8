import Breaker
import Tracing
