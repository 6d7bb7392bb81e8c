"""Writes of the final review: a class's marks in a revision. Blacklisting goes through testsets.services
(set_blacklisted) and resampling from the revision through testsets.revisions (sample_testset)."""

from django.db import transaction
from django.utils import timezone

from config.exceptions import DomainError, NotFoundError
from finalreview import selectors
from finalreview.models import MAX_NOTE_LENGTH, ClassReview
from testsets.models import Revision


def set_class_marks(*, testset_name, revision_number, wnid, reviewed=None, problematic=None, note=None, user):
    """Set a class's marks in the test set's revision (None leaves one as it is) in the revision's own row, with who
    and when; a class that has no row of its own yet starts from the marks it carries. Returns the class's marks
    (selectors.marks_of)."""
    for field, value in (("reviewed", reviewed), ("problematic", problematic)):
        if value is not None and not isinstance(value, bool):
            raise DomainError(f"{field} must be true or false, not {value!r}", field=field)
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH):
        raise DomainError(f"the note must be text of at most {MAX_NOTE_LENGTH} characters", field="note")
    if reviewed is None and problematic is None and note is None:
        raise DomainError("nothing to set: give reviewed, problematic or a note", field="reviewed")
    revision = selectors.revision_under_review(testset_name, revision_number)
    changes = {
        name: value
        for name, value in (("reviewed", reviewed), ("problematic", problematic), ("note", note))
        if value is not None
    }
    with transaction.atomic():
        # One writer of a revision's marks at a time: the first row of a class is made from what it carries.
        Revision.objects.select_for_update().filter(pk=revision.pk).first()
        review = ClassReview.objects.filter(revision=revision, wnid=wnid).first()
        if review is None:
            if not selectors.has_class(revision, wnid):
                raise NotFoundError(
                    f"revision {revision.number} of test set {testset_name!r} has no class {wnid[:40]!r}: it sampled "
                    "no image of it",
                    field="wnid",
                )
            carried = selectors.effective_marks(revision, [wnid]).get(wnid, selectors.UNMARKED)
            review = ClassReview(
                revision=revision,
                wnid=wnid,
                reviewed=carried["reviewed"],
                problematic=carried["problematic"],
                note=carried["note"],
            )
        for name, value in changes.items():
            setattr(review, name, value)
        review.updated_by, review.updated_at = user, timezone.now()
        review.save()
    return selectors.marks_of(review, revision.number)
