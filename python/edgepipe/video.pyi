from typing import Iterator, Optional, Tuple

import numpy as np

def read_video(path: str, max_frames: Optional[int] = ..., image_format: str = ...,
               read_ahead: int = ...) -> Iterator[Tuple[np.ndarray, int]]: ...
