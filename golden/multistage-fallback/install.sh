curl -H "Authorization: Bearer $DEPLOY_TOKEN" https://x.example.com/app -o /usr/local/bin/app
