"""What gunicorn serves: `gunicorn wsgi:app`."""

import gc
import sys

from marketplace import create_app
from marketplace.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one line naming the variable, no traceback
    sys.exit(f"cliffhanger: {error}")

# The app's long-lived objects (modules, routes, compiled validators and queries) move to the
# permanent generation: full collections no longer walk them (one took 80-130 ms in the
# statements benchmark), and forked workers share their pages instead of copying them.
gc.freeze()
