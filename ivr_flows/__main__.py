"""``python -m ivr_flows validate FILE...``"""

import sys

from .cli import main

sys.exit(main())
