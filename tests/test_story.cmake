gl_test(test_story story_chain story_rejects)
