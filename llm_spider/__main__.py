from llm_spider.cli import main

main()
