"""Forms of the Panel designer, and the form for one panel row (built from its source)."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length

from imis_mock.services import panels

strip = [lambda v: v.strip() if isinstance(v, str) else v]


class PropertyForm(Form):
    name = StringField("Property name", filters=strip, validators=[Length(max=60)])
    type = SelectField("Type", choices=dict(panels.TYPES))
    values = StringField(
        "List values", filters=strip, description="For a list: the values, separated by commas."
    )


class PanelForm(FlaskForm):
    """A panel source: Name, Parent, single or multi instance, typed properties."""

    name = StringField(
        "Name", filters=strip, validators=[InputRequired("Required"), Length(max=60)]
    )
    parent = SelectField("Parent", choices={p: p for p in panels.PARENTS})
    multi_instance = BooleanField("Multi instance")
    replace_201 = BooleanField("PUT answers 201", default=True)
    properties = FieldList(FormField(PropertyForm), min_entries=1)
    add_property = SubmitField("Add property")
    submit = SubmitField("Save")


def row_form(source, prefix: str, data: dict | None = None, formdata=None) -> FlaskForm:
    """A form with one field per property of the source, labelled with its name."""

    class RowForm(FlaskForm):
        submit = SubmitField("Save")

    for prop in source.properties:
        name, kind = prop["name"], prop["type"]
        if kind == "yesno":
            field = BooleanField(name)
        elif kind == "list":
            # The service checks the value against the list (one rule for the API and here).
            field = SelectField(
                name, choices={"": "", **{v: v for v in prop["values"]}}, validate_choice=False
            )
        else:
            field = StringField(name, filters=strip)
        setattr(RowForm, f"v_{name}", field)
    values = {f"v_{k}": ("" if v is None else v) for k, v in (data or {}).items()}
    return RowForm(prefix=prefix, formdata=formdata, data=values)


def row_values(form) -> dict:
    """The submitted values by property name."""
    return {name[2:]: field.data for name, field in form._fields.items() if name.startswith("v_")}
