"""Site-wide settings kept in the database, so that every worker process sees the same."""

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from imis_mock.models.base import Base


class AppSetting(Base):
    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
