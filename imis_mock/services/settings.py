"""Read and write site settings kept in the database."""

from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AppSetting


def get(key: str, default: str = "") -> str:
    value = db.session.scalar(select(AppSetting.value).where(AppSetting.key == key))
    return default if value is None else value


def put(key: str, value: str) -> None:
    """Set a setting; the caller commits."""
    setting = db.session.get(AppSetting, key) or AppSetting(key=key)
    setting.value = value
    db.session.add(setting)
