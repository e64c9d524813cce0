/* inline_story.h with the public header's inline builders. */
#define STORY story_inline
#include "inline_story.h"
