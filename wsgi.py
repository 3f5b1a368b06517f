"""What gunicorn serves: `gunicorn wsgi:app`."""

import sys

from marketplace import create_app
from marketplace.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one line naming the variable, no traceback
    sys.exit(f"cliffhanger: {error}")
