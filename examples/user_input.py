import getpass
import sys
from ai.backend.client import Session


def handle_media(record):
    media_type = record[0]  # MIME-Type string
    media_data = record[1]  # content
    ...


with Session() as session:
    kern = session.ComputeSession.get_or_create('cr.backend.ai/stable/python:3.11-debian12')
    code = 'name = input("What is your name? ")\nprint("Hello, " + name + "!")'
    mode = 'query'
    run_id = None
    while True:
        result = kern.execute(run_id, code, mode=mode)
        run_id = result['runId']  # keeps track of this particular run loop
        for rec in result.get('console', []):
            if rec[0] == 'stdout':
                print(rec[1], end='', file=sys.stdout)
            elif rec[0] == 'stderr':
                print(rec[1], end='', file=sys.stderr)
            else:
                handle_media(rec)
        sys.stdout.flush()
        if result['status'] == 'finished':
            break
        elif result['status'] == 'waiting-input':
            mode = 'input'
            if result['options'].get('is_password', False):
                code = getpass.getpass()
            else:
                code = input()
        else:
            mode = 'continued'
            code = ''
    kern.destroy()
