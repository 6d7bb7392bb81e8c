from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    name = "consensus"
    verbose_name = "Consensus of several reviewers"

    def ready(self):
        from annotate import selectors
        from consensus.selectors import image_adjudications

        selectors.add_history_source(image_adjudications)
