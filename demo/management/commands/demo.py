from django.core.management.base import BaseCommand

from annotate.demo import DEMO_DATASET
from consensus.demo import CROWD_DATASET
from demo.services import build_demo


class Command(BaseCommand):
    help = "Create the self-contained demo: accounts, a dataset of sample photos and simulated models."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="URL printed for the logins")

    def handle(self, *args, url, **options):
        users = build_demo()
        self.stdout.write(f"Relabel demo is ready: {url}datasets/{DEMO_DATASET}/review/")
        self.stdout.write(f"  training tasks {url}training/ · labeling guide {url}guide/ · API {url}api/docs/")
        self.stdout.write(f"  several reviewers, adjudication, agreement: {url}datasets/{CROWD_DATASET}/consensus/")
        for username, password, role in users:
            self.stdout.write(f"  {role:9} login {username!r} password {password!r}")
