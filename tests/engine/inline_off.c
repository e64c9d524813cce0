/* inline_story.h with every builder called in the library. */
#define TG_NO_INLINE
#define STORY story_library
#include "inline_story.h"
