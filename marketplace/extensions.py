"""Extensions, created unbound; ``create_app`` binds them."""

from apscheduler.schedulers.background import BackgroundScheduler
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from marketplace.api.openapi import ProblemApi
from marketplace.core.db import Base
from marketplace.core.replica import RoutingSession

db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})  # core/replica.py
migrate = Migrate()
login_manager = LoginManager()
mail = Mail()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(get_remote_address)
scheduler = BackgroundScheduler(timezone="UTC")
cache = Cache()  # the public search's page cache (tenders/search_cache.py)
api = ProblemApi()  # /api/v1 on flask-smorest (marketplace/api/registry.py)
