import Breaker
import Logging
