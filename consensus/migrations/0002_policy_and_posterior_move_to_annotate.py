"""ConsensusPolicy and ConsensusPosterior belong to the review core (annotate) from now on: they leave this app's
state, and their tables stay as they are (annotate 0014 takes them over)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("consensus", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ConsensusPolicy"),
                migrations.DeleteModel(name="ConsensusPosterior"),
            ],
        )
    ]
