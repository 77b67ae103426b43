"""mmlearn: the tested helper code behind the multimodal-learning course.

Lesson 00 (section "How this course works") shows how the lessons use this package.

Every notebook imports from here, so each lesson shows the idea and this
package keeps the code that is worth testing.
"""

__version__ = "0.1.0"
