"""Where the examples find models and media: --models/--media, $EDGEPIPE_SHARED_DIR, or ../shared next to the repository."""
import os

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("EDGEPIPE_SHARED_DIR", os.path.join(os.path.dirname(_REPO), "shared"))
MODELS = os.path.join(SHARED, "models")
MEDIA = os.path.join(SHARED, "media")
