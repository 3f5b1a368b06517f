"""Every feature's models, imported once so their tables are on the shared metadata.

Only `create_app` and migrations/env.py import this module: features import the models they
use from the feature that owns them, never from here.
"""

from marketplace import audit, mail
from marketplace.accounts import models as accounts_models
from marketplace.ingest import models as ingest_models
from marketplace.partners import models as partners_models
from marketplace.payouts import models as payouts_models
from marketplace.reconciliation import models as reconciliation_models
from marketplace.settlements import models as settlements_models
from marketplace.splits import models as splits_models
from marketplace.splits.terms import commerce as splits_commerce
from marketplace.studio import models as studio_models
from marketplace.tax import models as tax_models

MODEL_MODULES = (
    audit,
    mail,
    accounts_models,
    partners_models,
    studio_models,
    splits_models,
    splits_commerce,
    ingest_models,
    payouts_models,
    settlements_models,
    tax_models,
    reconciliation_models,
)
