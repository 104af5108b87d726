"""Several Ollama servers: every pull and audit entry names its server, and one model may be
pulled on two servers at once. Rows from before were all on OLLAMA_HOST, so they get it."""

from django.conf import settings
from django.db import migrations, models


def name_the_only_server(apps, schema_editor):
    host = settings.OLLAMA_HOST.rstrip("/")
    for model in ("Pull", "AuditEntry"):
        apps.get_model("library", model).objects.filter(host="").update(host=host)


class Migration(migrations.Migration):
    dependencies = [
        ("library", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="pull",
            name="library_one_running_pull_per_model",
        ),
        migrations.AddField(
            model_name="pull",
            name="host",
            field=models.CharField(
                default="", help_text="The Ollama server pulling the model.", max_length=300
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="host",
            field=models.CharField(
                default="", help_text="The Ollama server acted on.", max_length=300
            ),
            preserve_default=False,
        ),
        migrations.RunPython(name_the_only_server, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="pull",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "running")),
                fields=("host", "name"),
                name="library_one_running_pull_per_server_model",
            ),
        ),
    ]
