"""Forms of the Intelligent Query Architect. Rows of columns, filters and sorting are lists of
subforms; "Add column", "Add filter" and "Add sort" post the form back with one more row, so the
page works without scripts."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

strip = [lambda v: v.strip() if isinstance(v, str) else v]


class ColumnForm(Form):
    property = SelectField("Column", validate_choice=False)
    alias = StringField("Alias", filters=strip, validators=[Length(max=100)])


class FilterForm(Form):
    property = SelectField("Property", validate_choice=False)
    operator = SelectField("Operator", validate_choice=False)
    value = StringField("Value", filters=strip, validators=[Length(max=200)])
    prompt = StringField("Prompt", filters=strip, validators=[Length(max=100)])
    required = BooleanField("Required")


class SortForm(Form):
    property = SelectField("Sort by", validate_choice=False)
    descending = BooleanField("Descending")


class QueryForm(FlaskForm):
    """iMIS's query editor: Name, Folder, Source, then columns, filters and sorting."""

    name = StringField(
        "Name", filters=strip, validators=[InputRequired("Required"), Length(max=100)]
    )
    folder = StringField(
        "Folder", filters=strip, default="$/Common", validators=[InputRequired("Required")]
    )
    source = SelectField("Source", validate_choice=False)
    staff_only = BooleanField("Staff only")
    columns = FieldList(FormField(ColumnForm), min_entries=1)
    filters = FieldList(FormField(FilterForm))
    sorting = FieldList(FormField(SortForm))
    add_column = SubmitField("Add column")
    add_filter = SubmitField("Add filter")
    add_sort = SubmitField("Add sort")
    submit = SubmitField("Save")

    def set_choices(self, sources: list[tuple[str, str]], properties: list[str], operations):
        """Fill the selects: the sources, the chosen source's properties, the operators."""
        # {value: label}: WTForms' shorthand for choices.
        self.source.choices = dict(sources)
        props = {"": "", **{p: p for p in properties}}
        for entry in self.columns:
            entry.form.property.choices = props
        for entry in self.filters:
            entry.form.property.choices = props
            entry.form.operator.choices = dict(operations)
        for entry in self.sorting:
            entry.form.property.choices = props


class FolderForm(FlaskForm):
    path = StringField(
        "Folder", filters=strip, validators=[InputRequired("Required"), Length(max=200)]
    )
    submit = SubmitField("New folder")
