from flask import Blueprint

bp = Blueprint("award", __name__, template_folder="templates")
