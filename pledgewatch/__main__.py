from pledgewatch.crawler.cli import main

main()
