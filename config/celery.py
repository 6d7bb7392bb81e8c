import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("relabel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RequeueIfBrokerLost(bootsteps.StartStopStep):
    """Runs each time a worker's consumer starts: at start-up and after every lost broker connection."""

    requires = {"celery.worker.consumer.tasks:Tasks"}  # after the queues are declared again

    def start(self, consumer):
        from annotate.tasks import requeue_if_broker_lost

        requeue_if_broker_lost()


app.steps["consumer"].add(RequeueIfBrokerLost)
