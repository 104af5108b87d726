# A title is generated once per conversation (issue 14): conversations that already had a
# complete reply went through the old title step, or were imported with their title.

from django.db import migrations, models


def settle_answered_conversations(apps, schema_editor):
    Conversation = apps.get_model("conversations", "Conversation")
    Conversation.objects.filter(
        messages__role="assistant", messages__state="complete"
    ).update(title_settled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0006_turn_start"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="title_settled",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(settle_answered_conversations, migrations.RunPython.noop),
    ]
